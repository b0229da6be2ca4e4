"""Does a turn cost more as the conversation grows? (issue #19)

Starts the stack as `make bench` does (private ports, private SQLite database), then one patient
sends the bench's conversation over the REST channel again and again, one message at a time, up to
`--messages` (400) messages in one conversation session. The latency of each message is kept, and
the medians are reported at messages 1–10 and around 100, 200 and 400 (the ten messages ending
there), with the ratio to messages 1–10.

Variants run one after the other in the same invocation (A/B on the same machine, same minutes):
`--variant NAME=ENV=VALUE[,ENV=VALUE…]` starts the stack with those environment variables, e.g.
`--variant rasa=TRACKER_STORE_WINDOW_TURNS=0 --variant window=TRACKER_STORE_WINDOW_TURNS=10`.
Each variant is run `--repeats` times, interleaved, and the medians of the repeats are reported.
The figures go to bench/runs/length/<date>-length-<label>.json.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import httpx

from bench.run import CONVERSATION, RUNS, Stack, full_turns, machine

LENGTH_RUNS = RUNS / "length"
# (label, first message, last message), 1-based and inclusive.
WINDOWS: List[Tuple[str, int, int]] = [("1-10", 1, 10), ("100", 91, 100), ("200", 191, 200), ("400", 391, 400)]


def one_conversation(
    url: str, messages: int, before_message: Optional[Callable[[int], None]] = None
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
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": CONVERSATION[i % len(CONVERSATION)]}
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


def measure(
    variants: List[Tuple[str, Dict[str, str]]], messages: int, repeats: int, concurrent: List[int]
) -> Dict[str, object]:
    runs: Dict[str, List[Dict[str, object]]] = {name: [] for name, _ in variants}
    for _ in range(repeats):
        for name, env in variants:
            workdir = Path(tempfile.mkdtemp(prefix="bench-length-"))
            stack = Stack(workdir, extra_env=env)
            try:
                stack.wait_ready()
                one_conversation(stack.rasa_url, 3)  # warm-up in its own conversation
                load = Path("/proc/loadavg").read_text().split()[0]
                latencies, errors = one_conversation(stack.rasa_url, messages) if messages else ([], 0)
                run: Dict[str, object] = {
                    "medians": window_medians(latencies), "errors": errors, "load_before": load,
                    "load_after": Path("/proc/loadavg").read_text().split()[0],
                    "latencies_ms": [round(x, 1) for x in latencies],
                }
                for turns in concurrent:
                    run[f"32x{turns}"] = asyncio.run(full_turns(stack.rasa_url, 32, turns))
                runs[name].append(run)
                print(name, {k: v for k, v in run.items() if k != "latencies_ms"}, flush=True)
            finally:
                stack.stop()
                shutil.rmtree(workdir, ignore_errors=True)
    summary = {}
    for name, env in variants:
        labels = runs[name][0]["medians"].keys()  # type: ignore[union-attr]
        medians = {label: round(statistics.median(r["medians"][label] for r in runs[name]), 1) for label in labels}  # type: ignore[index]
        first = medians.get("1-10")
        summary[name] = {
            "env": env,
            **{
                f"32x{turns}_msgs_per_s": statistics.median(r[f"32x{turns}"]["msgs_per_s"] for r in runs[name])  # type: ignore[index]
                for turns in concurrent
            },
            **{
                f"32x{turns}_errors": sum(r[f"32x{turns}"]["errors"] for r in runs[name])  # type: ignore[index, misc]
                for turns in concurrent
            },
            "medians_ms": medians,
            "ratio_to_1_10": {label: round(value / first, 2) for label, value in medians.items()} if first else {},
            "errors": sum(r["errors"] for r in runs[name]),  # type: ignore[misc]
        }
    return {"summary": summary, "runs": runs}


def render(result: Dict[str, object]) -> str:
    labels = [label for label, _, _ in WINDOWS]
    lines = ["| variant | " + " | ".join(f"msg {label}" for label in labels) + " | 400 / 1-10 | errors |",
             "|" + "---|" * (len(labels) + 3)]
    for name, s in result["summary"].items():  # type: ignore[union-attr]
        med = s["medians_ms"]
        lines.append(f"| {name} | " + " | ".join(str(med.get(label, "–")) for label in labels)
                     + f" | {s['ratio_to_1_10'].get('400', '–')}× | {s['errors']} |")
    for name, s in result["summary"].items():  # type: ignore[union-attr]
        for key in (k for k in s if k.endswith("_msgs_per_s")):
            turns = key.split("_")[0]
            lines.append(f"{name}: {turns} concurrent: {s[key]} msg/s, {s[turns + '_errors']} errors")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="current")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--concurrent", type=int, action="append", default=[],
                        help="also 32 concurrent conversations of this many turns (repeatable)")
    parser.add_argument("--variant", action="append", default=[], help="NAME=ENV=VALUE[,ENV=VALUE…]")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] or [("current", {})]
    result: Dict[str, object] = {
        "label": args.label,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "messages": args.messages,
        "repeats": args.repeats,
    }
    result.update(measure(variants, args.messages, args.repeats, args.concurrent))
    LENGTH_RUNS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    (LENGTH_RUNS / f"{stamp}-length-{args.label}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
