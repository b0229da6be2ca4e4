"""Does a turn cost more as the conversation grows, here and in stock Rasa? (issue #19)

Starts the stack as `make bench` does (private ports, private database), then one patient sends the
bench's conversation over the REST channel again and again, one message at a time, up to `--messages`
(400) messages in one conversation session. The latency of each message is kept, and the medians are
reported at messages 1–10 and around 100, 200 and 400 (the ten messages ending there), with the ratio
to messages 1–10; then 32 conversations of each `--concurrent` length at once.

Variants run one after the other in the same invocation (A/B on the same machine, same minutes):
`--variant NAME=ENV=VALUE[,ENV=VALUE…]` starts the stack with those environment variables, e.g.
`--variant rasa-session=TRACKER_STORE_WINDOW_TURNS=0 --variant window-10=TRACKER_STORE_WINDOW_TURNS=10`;
`--stock` adds stock Rasa 3.6's `rasa init` moodbot on Rasa's SQL tracker store (bench/stock.py),
driven by the same code with five turns of its own (it understands no Chinese), and each variant's ratio to it. `--database sqlite`
(default) and/or `--database postgresql` (a database created on 127.0.0.1:5432 for each run and
dropped after it) runs every variant on each. Each variant is run `--repeats` times, interleaved, and
the medians of the repeats are reported. The figures go to bench/runs/length/<date>-length-<label>.json,
and bench/results.md shows the latest run's tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import httpx
import pytest

from bench import run as bench_run
from bench.length_report import LENGTH_RUNS, WINDOWS, render
from bench.run import CONVERSATION, Stack, cpu_per_message, full_turns, machine
from bench.stock import StockRasa
from tests.services import fresh_postgres_database

STOCK = "stock-rasa"
DATABASES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Variant:
    name: str
    env: Dict[str, str] = field(default_factory=dict)
    stock: bool = False


def one_conversation(
    url: str, messages: int, before_message: Optional[Callable[[int], None]] = None,
    texts: Sequence[str] = CONVERSATION,
) -> Tuple[List[float], int]:
    """Latency (ms) of each message of one conversation, and how many got no answer;
    `before_message(i)` is called before message i (0-based) is sent."""
    sender = f"length-{uuid.uuid4().hex}"
    latencies: List[float] = []
    errors = 0
    with httpx.Client(timeout=120) as client:
        for i in range(messages):
            if before_message:
                before_message(i)
            t0 = time.perf_counter()
            response = client.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": texts[i % len(texts)]}
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += response.status_code != 200 or not response.json()
    return latencies, errors


def window_medians(latencies: List[float]) -> Dict[str, float]:
    medians = {}
    for label, first, last in WINDOWS:
        if len(latencies) >= last:
            medians[label] = round(statistics.median(latencies[first - 1 : last]), 1)
    return medians


def parse_variant(text: str) -> Tuple[str, Dict[str, str]]:
    name, _, assignments = text.partition("=")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return name, env


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


@contextmanager
def started(variant: Variant, database: str) -> Iterator[Stack]:
    """The variant's server on its own fresh database, ready; stopped and its database removed afterwards."""
    with ExitStack() as resources:
        workdir = Path(tempfile.mkdtemp(prefix="bench-length-"))
        resources.callback(shutil.rmtree, workdir, True)
        database_url = f"sqlite:///{workdir / 'bench.db'}"
        if database == "postgresql":
            database_url = resources.enter_context(fresh_postgres_database())
        if variant.stock:
            stack: Stack = StockRasa(workdir, database_url)
        else:
            stack = Stack(workdir, extra_env={**variant.env, "DATABASE_URL": database_url})
        resources.callback(stack.stop)
        try:
            stack.wait_ready()
        except RuntimeError:
            print(stack.log_path.read_text()[-3000:], file=sys.stderr)
            raise
        yield stack


def measure_once(stack: Stack, messages: int, concurrent: List[int]) -> Dict[str, object]:
    texts = stack.conversation
    one_conversation(stack.rasa_url, 3, texts=texts)  # warm-up in its own conversation
    load_before = load()
    latencies, errors = one_conversation(stack.rasa_url, messages, texts=texts) if messages else ([], 0)
    run: Dict[str, object] = {
        "medians": window_medians(latencies), "errors": errors, "load_before": load_before, "load_after": load(),
        "latencies_ms": [round(x, 1) for x in latencies],
    }
    for turns in concurrent:
        run[f"32x{turns}"], run[f"32x{turns}_cpu_ms"] = cpu_per_message(
            stack.processes(), lambda: asyncio.run(full_turns(stack.rasa_url, 32, turns, texts))
        )
    return run


def summarize(runs: List[Dict[str, object]], env: Dict[str, str], concurrent: List[int]) -> Dict[str, object]:
    """The medians of the repeats of one variant on one database."""
    labels = runs[0]["medians"].keys()  # type: ignore[union-attr]
    medians = {label: round(statistics.median(r["medians"][label] for r in runs), 1) for label in labels}  # type: ignore[index]
    first = medians.get("1-10")
    summary: Dict[str, object] = {"env": env}
    for turns in concurrent:
        key = f"32x{turns}"
        summary[f"{key}_msgs_per_s"] = statistics.median(r[key]["msgs_per_s"] for r in runs)  # type: ignore[index]
        summary[f"{key}_errors"] = sum(r[key]["errors"] for r in runs)  # type: ignore[index, misc]
        summary[f"{key}_cpu_ms"] = {
            name: round(statistics.median(r[f"{key}_cpu_ms"][name] for r in runs), 1)  # type: ignore[index]
            for name in runs[0][f"{key}_cpu_ms"]  # type: ignore[union-attr]
        }
    summary.update(
        medians_ms=medians,
        ratio_to_1_10={label: round(value / first, 2) for label, value in medians.items()} if first else {},
        errors=sum(r["errors"] for r in runs),  # type: ignore[misc]
    )
    return summary


def versus_stock(ours: Dict[str, object], stock: Dict[str, object], concurrent: List[int]) -> Dict[str, float]:
    """Our medians and throughputs divided by stock Rasa's of the same run and database."""
    ratios = {
        f"msg {label}": round(value / stock["medians_ms"][label], 2)  # type: ignore[index]
        for label, value in ours["medians_ms"].items()  # type: ignore[union-attr]
        if stock["medians_ms"].get(label)  # type: ignore[union-attr]
    }
    for turns in concurrent:
        key = f"32x{turns}_msgs_per_s"
        if stock.get(key):
            ratios[f"32x{turns} msg/s"] = round(ours[key] / stock[key], 2)  # type: ignore[operator]
    return ratios


def measure(
    variants: List[Variant], databases: List[str], messages: int, repeats: int, concurrent: List[int]
) -> Dict[str, object]:
    keys = [(f"{v.name}/{db}", v, db) for db in databases for v in variants]
    runs: Dict[str, List[Dict[str, object]]] = {key: [] for key, _, _ in keys}
    not_measured: Dict[str, str] = {}
    for _ in range(repeats):
        for key, variant, database in keys:
            if key in not_measured:
                continue
            try:
                with started(variant, database) as stack:
                    run = measure_once(stack, messages, concurrent)
            except pytest.skip.Exception as unavailable:
                not_measured[key] = str(unavailable)
                continue
            runs[key].append(run)
            print(key, {k: v for k, v in run.items() if k != "latencies_ms"}, flush=True)
    summary = {key: summarize(runs[key], variant.env, concurrent) for key, variant, _ in keys if runs[key]}
    for key, variant, database in keys:
        stock = summary.get(f"{STOCK}/{database}")
        if key in summary and stock and not variant.stock:
            summary[key]["versus_stock"] = versus_stock(summary[key], stock, concurrent)
    return {"summary": summary, "not_measured": not_measured, "runs": runs}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="current")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--concurrent", type=int, action="append", default=[],
                        help="also 32 concurrent conversations of this many turns (repeatable)")
    parser.add_argument("--variant", action="append", default=[], help="NAME=ENV=VALUE[,ENV=VALUE…]")
    parser.add_argument("--stock", action="store_true", help=f"also stock Rasa's moodbot ({STOCK}), bench/stock.py")
    parser.add_argument("--database", action="append", choices=DATABASES, default=[],
                        help="run every variant on this database (repeatable; default sqlite)")
    args = parser.parse_args(argv)
    variants = [Variant(*parse_variant(v)) for v in args.variant] or [Variant("current")]
    if args.stock:
        variants.append(Variant(STOCK, stock=True))
    result: Dict[str, object] = {
        "label": args.label,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "messages": args.messages,
        "repeats": args.repeats,
    }
    result.update(measure(variants, args.database or ["sqlite"], args.messages, args.repeats, args.concurrent))
    result["load_after"] = load()
    LENGTH_RUNS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    (LENGTH_RUNS / f"{stamp}-length-{args.label}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(render(result))
    return bench_run.main(["--render-only"])


if __name__ == "__main__":
    sys.exit(main())
