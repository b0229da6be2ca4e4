"""`make profile`: where a served turn spends the Rasa process's CPU.

Starts the stack as `make bench` does, attaches py-spy (sampling, 200 Hz) to the Rasa process while
the bench's patients talk to it one at a time, and writes bench/profile.md: each sample is given to
the first category of `CATEGORIES` whose pattern is on its stack, so the shares add up to 100 %.
The raw samples (py-spy's collapsed stacks, several MB) stay in a temporary folder unless `--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from bench.run import ROOT, Stack, cpu_per_message, full_turns, sequential_turns

PROFILE = ROOT / "bench" / "profile.md"
RATE_HZ = 200
# (category, regular expression over one collapsed stack); the first match takes the sample.
CATEGORIES: List[Tuple[str, str]] = [
    ("check of action server responses (jsonschema)", r"jsonschema/"),
    ("TEDPolicy (featurising and TensorFlow)", r"ted_policy\.py"),
    ("RulePolicy and MemoizationPolicy", r"rule_policy\.py|memoization\.py"),
    ("other dialogue prediction (ensemble, tracker states)", r"_predict_next_with_tracker"),
    ("NLU pipeline (Jieba, featurizers, DIET, red flags)", r"_parse_message_with_graph"),
    ("tracker store: load", r"get_tracker \(rasa/core/processor|fetch_tracker"),
    ("tracker store: save", r"save_tracker \(rasa/core/processor"),
    ("SQLAlchemy statement caching", r"sqlalchemy/sql/traversals\.py"),
    ("custom action call (HTTP to the action server)", r"rasa/core/actions/action\.py"),
    ("other message processing", r"rasa/core/processor\.py"),
    ("HTTP server and event loop", r"."),
]


def collapsed(path: Path) -> Iterable[Tuple[str, int]]:
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            yield stack, int(count)


def shares(samples: Iterable[Tuple[str, int]]) -> Tuple[Counter, int]:
    patterns = [(name, re.compile(pattern)) for name, pattern in CATEGORIES]
    counts: Counter = Counter()
    total = 0
    for stack, count in samples:
        total += count
        counts[next(name for name, pattern in patterns if pattern.search(stack))] += count
    return counts, total


def record(rounds: int, raw: Path) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Drive `rounds` sequential turns while py-spy samples the Rasa process into `raw`; the turns'
    figures and each process's CPU milliseconds per turn."""
    workdir = Path(tempfile.mkdtemp(prefix="profile-"))
    stack = Stack(workdir)
    try:
        stack.wait_ready()
        asyncio.run(full_turns(stack.rasa_url, 4, 2))  # warm-up: model graphs, connections, caches
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.processes()["rasa"]),
             "--rate", str(RATE_HZ), "--format", "raw", "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(2)  # py-spy attached
        measured = cpu_per_message(stack.processes(), lambda: asyncio.run(sequential_turns(stack.rasa_url, rounds)))
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        return measured
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def render(counts: Counter, total: int, turns: int, figures: Dict[str, float], cpu: Dict[str, float]) -> str:
    lines = [
        "# Where a turn spends Rasa's CPU",
        "",
        f"`make profile` (bench/profile.py), {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: py-spy at {RATE_HZ} Hz on "
        f"the Rasa process during {turns} sequential turns of the bench's conversations "
        f"(p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms with the profiler attached). "
        f"{total} samples. CPU per turn (from /proc, profiler overhead included): Rasa {cpu['rasa']} ms, "
        f"action server {cpu['actions']} ms. The last row also holds the event loop waiting in epoll, "
        "which py-spy cannot always tell from work.",
        "",
        "| where | share of samples |",
        "|---|---|",
    ]
    lines += [f"| {name} | {100 * counts[name] / total:.1f} % |" for name, _ in CATEGORIES if counts[name]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300, help="sequential turns to profile")
    parser.add_argument("--keep", type=Path, help="also keep py-spy's raw samples at this path")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "rasa.collapsed"
        figures, cpu = record(args.rounds, raw)
        counts, total = shares(collapsed(raw))
        if args.keep:
            shutil.copy(raw, args.keep)
    PROFILE.write_text(render(counts, total, args.rounds, figures, cpu))
    print(PROFILE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
