"""The conversation-length tables (issue #19): printed by bench/length.py, and the latest run's in bench/results.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

LENGTH_RUNS = Path(__file__).resolve().parent / "runs" / "length"
# (label, first message, last message), 1-based and inclusive.
WINDOWS: List[Tuple[str, int, int]] = [("1-10", 1, 10), ("100", 91, 100), ("200", 191, 200), ("400", 391, 400)]


def _throughputs(summary: Dict[str, object]) -> List[str]:
    return sorted(key.split("_")[0] for key in summary if key.endswith("_msgs_per_s"))


def render(result: Dict[str, object]) -> str:
    """Medians per window and their growth, the 32-conversation throughputs, and each variant beside stock Rasa."""
    labels = [label for label, _, _ in WINDOWS]
    summaries: Dict[str, Dict[str, object]] = result["summary"]  # type: ignore[assignment]
    lines = ["| variant | " + " | ".join(f"msg {label}" for label in labels) + " | 400 / 1-10 | errors |",
             "|" + "---|" * (len(labels) + 3)]
    for name, s in summaries.items():
        med, ratio = s["medians_ms"], s["ratio_to_1_10"]
        lines.append(f"| {name} | " + " | ".join(str(med.get(label, "–")) for label in labels)  # type: ignore[union-attr]
                     + f" | {ratio.get('400', '–')}× | {s['errors']} |")  # type: ignore[union-attr]
    throughputs = sorted({t for s in summaries.values() for t in _throughputs(s)}, key=lambda t: int(t[3:]))
    if throughputs:
        lines += ["", "| variant | " + " | ".join(f"{t} msg/s · errors · Rasa CPU ms/msg" for t in throughputs) + " |",
                  "|" + "---|" * (len(throughputs) + 1)]
        for name, s in summaries.items():
            cells = []
            for t in throughputs:
                cpu = (s.get(f"{t}_cpu_ms") or {}).get("rasa", "–")  # type: ignore[union-attr]
                cells.append(f"{s.get(f'{t}_msgs_per_s', '–')} · {s.get(f'{t}_errors', '–')} · {cpu}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    versus = {name: s["versus_stock"] for name, s in summaries.items() if s.get("versus_stock")}
    if versus:
        columns = list(next(iter(versus.values())))  # type: ignore[call-overload]
        lines += ["", "Ours ÷ stock Rasa on the same database, same run (latency: below 1 is faster; "
                  "throughput: above 1 is more):", "",
                  "| variant | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
        for name, ratios in versus.items():
            lines.append(f"| {name} | " + " | ".join(f"{ratios.get(c, '–')}×" for c in columns) + " |")  # type: ignore[union-attr]
    for name, reason in (result.get("not_measured") or {}).items():  # type: ignore[union-attr]
        lines.append(f"\n{name}: not measured: {reason}")
    return "\n".join(lines)


def latest_section() -> str:
    """bench/results.md's section for the latest recorded `make bench-length` run, or nothing."""
    runs = sorted(LENGTH_RUNS.glob("*.json"))
    if not runs:
        return ""
    result = json.loads(runs[-1].read_text())
    machine = result.get("machine", {})
    return (
        f"Conversation length, latest `make bench-length` ({runs[-1].name}, {str(result['date'])[:16].replace('T', ' ')} UTC, "
        f"load average {machine.get('load_before', '?')} → {result.get('load_after', '?')}, "
        f"{result.get('repeats', 1)} repeat(s), interleaved; medians in ms of one REST conversation's turns):\n\n"
        + render(result) + "\n\n"
    )
