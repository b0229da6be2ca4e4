"""Where a turn late in a long conversation spends the Rasa process's CPU (issue #19).

For each variant (as in bench/length.py, `NAME=ENV=VALUE[,…]`), starts the stack, has one patient
send `--messages` messages in one session, and attaches py-spy (bench/profile.py's rate and
categories) to the Rasa process for the last `--profiled` of them only. Writes
bench/profile-length.md: the variants' shares side by side, with the profiled turns' median latency
and Rasa CPU milliseconds per turn.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

from bench.length import one_conversation, parse_variant
from bench.profile import CATEGORIES, RATE_HZ, collapsed, shares
from bench.run import ROOT, Stack, cpu_seconds

PROFILE = ROOT / "bench" / "profile-length.md"


def profile_variant(env: Dict[str, str], messages: int, profiled: int, raw: Path) -> Dict[str, float]:
    """Samples of the last `profiled` messages into `raw`; their median latency and Rasa CPU ms per message."""
    workdir = Path(tempfile.mkdtemp(prefix="profile-length-"))
    stack = Stack(workdir, extra_env=env)
    started: Dict[str, object] = {}

    def before_message(index: int) -> None:
        if index != messages - profiled:
            return
        pid = stack.processes()["rasa"]
        started["spy"] = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", str(RATE_HZ),
             "--format", "raw", "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(2)  # py-spy attached
        started["pid"], started["cpu"] = pid, cpu_seconds(pid)

    try:
        stack.wait_ready()
        one_conversation(stack.rasa_url, 3)
        latencies, _ = one_conversation(stack.rasa_url, messages, before_message)
        cpu = cpu_seconds(started["pid"]) - started["cpu"]  # type: ignore[arg-type, operator]
        spy = started["spy"]
        spy.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
        spy.wait(timeout=60)  # type: ignore[attr-defined]
        return {"p50_ms": round(statistics.median(latencies[-profiled:]), 1), "rasa_cpu_ms": round(1000 * cpu / profiled, 1)}
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--profiled", type=int, default=50)
    parser.add_argument("--variant", action="append", default=[], help="NAME=ENV=VALUE[,ENV=VALUE…]")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] or [("current", {})]
    columns = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in variants:
            raw = Path(tmp) / f"{name}.collapsed"
            figures = profile_variant(env, args.messages, args.profiled, raw)
            counts, total = shares(collapsed(raw))
            columns.append((name, figures, counts, total))
            print(name, figures, flush=True)
    lines = [
        "# Where a turn late in a long conversation spends Rasa's CPU",
        "",
        f"bench/profile_length.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: one conversation of {args.messages} "
        f"messages per variant, py-spy at {RATE_HZ} Hz on the Rasa process during its last {args.profiled}.",
        "",
        "| where | " + " | ".join(name for name, *_ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for category, _ in CATEGORIES:
        lines.append(f"| {category} | " + " | ".join(
            f"{100 * counts[category] / total:.1f} %" if total else "–" for _, _, counts, total in columns) + " |")
    lines.append("| turn p50 (ms), profiler attached | " + " | ".join(str(f["p50_ms"]) for _, f, *_ in columns) + " |")
    lines.append("| Rasa CPU ms per turn | " + " | ".join(str(f["rasa_cpu_ms"]) for _, f, *_ in columns) + " |")
    lines.append("| samples | " + " | ".join(str(total) for *_, total in columns) + " |")
    PROFILE.write_text("\n".join(lines) + "\n")
    print(PROFILE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
