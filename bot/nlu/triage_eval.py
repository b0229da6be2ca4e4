"""Score the triage on the adversarial sets: `python -m bot.nlu.triage_eval`.

Every message of `tests/nlu/triage_red_flags.yml` must come out `report_emergency` through the trained
model's whole NLU pipeline (normaliser, classifier, triage); at most 5 % of
`tests/nlu/triage_near_misses.yml` may. `tests/nlu/triage_blind.yml` is measured and reported, never tuned
on (docs/triage.md); it only fails the run under its own, lower floors, which catch a regression.
Writes results/triage.json and results/triage.md. `--rules-only` scores the triage rules without a model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml

from bot.nlu.red_flags import EMERGENCY_INTENT, TRIAGE_KEY
from bot.nlu.triage import CHECK, RED, Triage

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "tests" / "nlu"
MAX_NEAR_MISS_URGENT = 0.05
BLIND_MIN_RECALL = 0.90
BLIND_MAX_NEAR_MISS_URGENT = 0.15

Outcome = Dict[str, Optional[str]]
Assess = Callable[[Sequence[str]], List[Outcome]]


@dataclass(frozen=True)
class Item:
    group: str
    text: str


def load_set(path: Path) -> Dict[str, List[Item]]:
    """`red_flags` (grouped by concept) and `near_misses` (grouped by kind) of one set file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        "red_flags": [Item(str(entry["concept"]), str(entry["text"])) for entry in document.get("red_flags") or []],
        "near_misses": [Item(str(entry["kind"]), str(entry["text"])) for entry in document.get("near_misses") or []],
    }


def model_assessor(model: Path) -> Assess:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    def assess(texts: Sequence[str]) -> List[Outcome]:
        async def parse() -> List[Dict[str, Any]]:
            return [await agent.parse_message(text) for text in texts]

        outcomes = []
        for parse_data in asyncio.run(parse()):
            triage = parse_data.get(TRIAGE_KEY) or {}
            outcomes.append(
                {
                    "intent": parse_data["intent"]["name"],
                    "level": triage.get("level"),
                    "concept": triage.get("concept"),
                    "classifier_intent": triage.get("classifier_intent") or parse_data["intent"]["name"],
                }
            )
        return outcomes

    return assess


def rules_assessor() -> Assess:
    triage = Triage.from_file()

    def assess(texts: Sequence[str]) -> List[Outcome]:
        outcomes = []
        for text in texts:
            finding = triage.assess(text).finding
            level = finding.level if finding else None
            outcomes.append(
                {
                    "intent": EMERGENCY_INTENT if level == RED else None,
                    "level": level,
                    "concept": finding.concept if finding else None,
                    "classifier_intent": None,
                }
            )
        return outcomes

    return assess


def score(items: Dict[str, List[Item]], assess: Assess) -> Dict[str, Any]:
    flags, near = items["red_flags"], items["near_misses"]
    outcomes = assess([item.text for item in flags + near])
    flag_outcomes, near_outcomes = outcomes[: len(flags)], outcomes[len(flags) :]
    per_concept: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for item, outcome in zip(flags, flag_outcomes):
        caught = outcome["intent"] == EMERGENCY_INTENT
        per_concept[item.group][0] += int(caught)
        per_concept[item.group][1] += 1
        if not caught:
            missed.append({"concept": item.group, "text": item.text, **outcome})
    urgent = []
    checked = Counter()
    per_kind: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for item, outcome in zip(near, near_outcomes):
        alarmed = outcome["intent"] == EMERGENCY_INTENT
        per_kind[item.group][0] += int(alarmed)
        per_kind[item.group][1] += 1
        if alarmed:
            urgent.append({"kind": item.group, "text": item.text, **outcome})
        elif outcome["level"] == CHECK:
            checked[item.group] += 1
    caught_total = len(flags) - len(missed)
    return {
        "red_flags": len(flags),
        "recall": caught_total / len(flags) if flags else 1.0,
        "recall_by_classifier": (
            sum(1 for o in flag_outcomes if o["classifier_intent"] == EMERGENCY_INTENT) / len(flags) if flags else 0.0
        ),
        "per_concept": {name: {"caught": c, "total": t} for name, (c, t) in sorted(per_concept.items())},
        "missed": missed,
        "near_misses": len(near),
        "near_miss_urgent_rate": len(urgent) / len(near) if near else 0.0,
        "near_miss_checklist": sum(checked.values()),
        "per_kind": {name: {"urgent": u, "total": t, "checklist": checked[name]} for name, (u, t) in sorted(per_kind.items())},
        "urgent": urgent,
    }


def failures(name: str, result: Dict[str, Any], min_recall: float, max_urgent: float) -> List[str]:
    problems = []
    if result["recall"] < min_recall:
        problems.append(f"{name}: red-flag recall {result['recall']:.3f} < {min_recall} ({len(result['missed'])} missed)")
    if result["near_miss_urgent_rate"] > max_urgent:
        problems.append(f"{name}: {result['near_miss_urgent_rate']:.1%} of near-misses urgent > {max_urgent:.0%}")
    return problems


def markdown(results: Dict[str, Dict[str, Any]]) -> str:
    lines: List[str] = []
    for name, result in results.items():
        lines += [
            f"## {name}",
            "",
            f"Red flags: {result['red_flags']}, recall {result['recall']:.3f} "
            f"(classifier alone {result['recall_by_classifier']:.3f}); near-misses: {result['near_misses']}, "
            f"urgent {result['near_miss_urgent_rate']:.1%}, red-flag checklist asked {result['near_miss_checklist']}.",
            "",
            "| concept | caught | total | recall |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {concept} | {v['caught']} | {v['total']} | {v['caught'] / v['total']:.2f} |"
            for concept, v in result["per_concept"].items()
        ]
        lines += ["", "| near-miss kind | urgent | checklist | total |", "|---|---|---|---|"]
        lines += [f"| {kind} | {v['urgent']} | {v['checklist']} | {v['total']} |" for kind, v in result["per_kind"].items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--rules-only", action="store_true", help="score the triage rules without a model")
    parser.add_argument("--show", action="store_true", help="print the misses of the enforced set")
    args = parser.parse_args(argv)
    if args.rules_only:
        assess = rules_assessor()
    else:
        if not args.model.exists():
            print(f"no trained model at {args.model}: run 'make train' first", file=sys.stderr)
            return 2
        from rasa.utils.common import configure_logging_and_warnings

        configure_logging_and_warnings(logging.WARNING)
        assess = model_assessor(args.model)
    enforced = {
        "red_flags": load_set(SETS / "triage_red_flags.yml")["red_flags"],
        "near_misses": load_set(SETS / "triage_near_misses.yml")["near_misses"],
    }
    results = {"enforced": score(enforced, assess), "blind": score(load_set(SETS / "triage_blind.yml"), assess)}
    problems = failures("enforced set", results["enforced"], 1.0, MAX_NEAR_MISS_URGENT)
    problems += failures("blind set", results["blind"], BLIND_MIN_RECALL, BLIND_MAX_NEAR_MISS_URGENT)
    suffix = "_rules" if args.rules_only else ""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"triage{suffix}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    table = markdown(results)
    (args.out / f"triage{suffix}.md").write_text(table, encoding="utf-8")
    print(table)
    if args.show:
        for entry in results["enforced"]["missed"]:
            print("MISSED", entry["concept"], entry["text"], entry.get("level"), entry.get("classifier_intent"))
        for entry in results["enforced"]["urgent"]:
            print("URGENT", entry["kind"], entry["text"], entry.get("concept"))
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
