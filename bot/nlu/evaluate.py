"""Score the trained model on the NLU hold-outs: `python -m bot.nlu.evaluate`.

Parses every example of each hold-out of `HOLDOUTS` with models/current.tar.gz, writes
results/<name>.json and results/<name>.md, and exits non-zero when a hold-out falls under its
`Thresholds`: intent macro-F1 and accuracy, `out_of_scope` and pre-operative (`ask_procedure_info`)
recall, procedure recall, and any missed `report_emergency` example.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from bot.nlu import metrics
from bot.nlu.red_flags import EMERGENCY_INTENT, FALLBACK_INTENT, TRIAGE_KEY
from bot.nlu.triage import CHECK, RED

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Thresholds:
    macro_f1: float
    accuracy: float = 0.0
    out_of_scope_recall: float = 0.0
    pre_op_recall: float = 0.0
    procedure_recall: float = 0.90


# The project's first hold-out (written in the team's style) and the second, in the style and mix of real
# patient traffic (mostly pre-operative questions, long preambles, other departments): docs/nlu.md.
HOLDOUTS = {
    # Floors just under the figures measured with the model of this data (docs/nlu.md).
    "nlu_holdout": (ROOT / "tests" / "nlu" / "holdout.yml", Thresholds(macro_f1=0.91)),
    "nlu_holdout_real": (
        ROOT / "tests" / "nlu" / "holdout_real.yml",
        # Issue 13's targets: accuracy and macro-F1 0.90, out_of_scope recall 0.85, pre-operative recall 0.90.
        Thresholds(macro_f1=0.89, accuracy=0.90, out_of_scope_recall=0.85, pre_op_recall=0.90),
    ),
    # A third author's set in real patients' style: the development set. Its misses show which kinds of message
    # the training data lacks (new examples are written for the kind, never copied); the two hold-outs above are
    # only measured.
    "nlu_dev_real": (ROOT / "tests" / "nlu" / "dev_real.yml", Thresholds(macro_f1=0.90, accuracy=0.92)),
}
PRE_OP_INTENT = "ask_procedure_info"
OUT_OF_SCOPE_INTENT = "out_of_scope"
SWEEP = [round(0.05 * i, 2) for i in range(0, 17)]

Example = Tuple[str, str, Tuple[str, ...]]


def load_holdout(path: Path) -> List[Example]:
    """(text, intent, canonical procedure values) for every hold-out example."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(str(path))
    return [
        (
            message.get("text"),
            message.get("intent"),
            tuple(e["value"] for e in message.get("entities") or [] if e["entity"] == "procedure"),
        )
        for message in data.intent_examples
    ]


def load_agent(model: Path) -> Any:
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def fallback_settings(agent: Any) -> Dict[str, float]:
    """The FallbackClassifier's threshold and ambiguity threshold inside the trained model."""
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    nodes = agent.processor.model_metadata.predict_schema.nodes.values()
    config = next(node.config for node in nodes if node.uses is FallbackClassifier)
    return {"threshold": config["threshold"], "ambiguity_threshold": config["ambiguity_threshold"]}


def parse_all(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Rasa's parse data for each text: the whole NLU pipeline, triage included."""

    async def parse() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(parse())


def answered_intent(parse: Dict[str, Any]) -> str:
    """The intent the patient is answered for: after the red-flag checklist ("都没有"), the classifier's."""
    triage = parse.get(TRIAGE_KEY) or {}
    if triage.get("level") == CHECK and triage.get("classifier_intent"):
        return str(triage["classifier_intent"])
    return str(parse["intent"]["name"])


def to_prediction(example: Example, parse: Dict[str, Any]) -> metrics.Prediction:
    text, gold_intent, gold_procedures = example
    triage = parse.get(TRIAGE_KEY) or {}
    forced = triage.get("level") == RED and triage.get("classifier_intent") != EMERGENCY_INTENT
    ranking = tuple(
        (entry["name"], entry["confidence"])
        for entry in parse.get("intent_ranking") or []
        if entry["name"] != FALLBACK_INTENT
    )
    if forced:
        ranking = ranking[1:]
    return metrics.Prediction(
        text=text,
        gold_intent=gold_intent,
        intent=answered_intent(parse),
        gold_procedures=gold_procedures,
        procedures=tuple(e["value"] for e in parse.get("entities") or [] if e["entity"] == "procedure"),
        ranking=ranking,
        forced=forced,
        unaided_intent=triage.get("classifier_intent") or parse["intent"]["name"],
    )


def classifier_only(prediction: metrics.Prediction) -> metrics.Prediction:
    """The same prediction as if the red-flag net were not there."""
    return metrics.Prediction(prediction.text, prediction.gold_intent, prediction.unaided_intent)


def summarise(
    predictions: Sequence[metrics.Prediction], fallback: Dict[str, float], seconds: float, thresholds: Thresholds
) -> Dict[str, Any]:
    result = metrics.report(predictions, EMERGENCY_INTENT)
    recall = {name: score.recall for name, score in result.intents.items()}
    failures = metrics.failures(result, thresholds.macro_f1, thresholds.procedure_recall)
    for label, value, minimum in (
        ("intent accuracy", result.accuracy, thresholds.accuracy),
        ("out_of_scope recall", recall.get(OUT_OF_SCOPE_INTENT, 1.0), thresholds.out_of_scope_recall),
        ("pre-operative (ask_procedure_info) recall", recall.get(PRE_OP_INTENT, 1.0), thresholds.pre_op_recall),
    ):
        if value < minimum:
            failures.append(f"{label} {value:.3f} is below {minimum:.2f}")
    unaided_recall, unaided_missed = metrics.recall_of([classifier_only(p) for p in predictions], EMERGENCY_INTENT)
    return {
        "examples": len(predictions),
        "macro_f1": result.macro_f1,
        "accuracy": result.accuracy,
        "emergency_recall": result.emergency_recall,
        "emergency_missed": result.emergency_missed,
        "emergency_recall_without_red_flags": unaided_recall,
        "emergency_missed_without_red_flags": unaided_missed,
        "forced_by_red_flags": sum(1 for p in predictions if p.forced),
        "procedure_recall": result.procedure_recall,
        "procedure_misses": result.procedure_misses,
        "intents": {name: asdict(score) for name, score in result.intents.items()},
        "confusions": result.confusions,
        "errors": result.errors,
        "fallback": fallback,
        "threshold_sweep": metrics.threshold_sweep(predictions, SWEEP, fallback["ambiguity_threshold"]),
        "parse_seconds": round(seconds, 1),
        "thresholds": asdict(thresholds),
        "failures": failures,
    }


def markdown(name: str, summary: Dict[str, Any]) -> str:
    lines = [
        f"Hold-out {name}: {summary['examples']} examples.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| intent macro-F1 | {summary['macro_f1']:.3f} |",
        f"| intent accuracy | {summary['accuracy']:.3f} |",
        f"| report_emergency recall | {summary['emergency_recall']:.3f} |",
        f"| report_emergency recall, classifier alone | {summary['emergency_recall_without_red_flags']:.3f} |",
        f"| messages forced by the red-flag net | {summary['forced_by_red_flags']} |",
        f"| procedure recall (canonical value) | {summary['procedure_recall']:.3f} |",
        "",
        "| intent | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for name, s in summary["intents"].items():
        lines.append(f"| {name} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {s['support']} |")
    lines += ["", "| gold intent | predicted | count |", "|---|---|---|"]
    lines += [f"| {gold} | {predicted} | {n} |" for gold, predicted, n in summary["confusions"]]
    lines += [
        "",
        f"Fallback threshold sweep (ambiguity threshold {summary['fallback']['ambiguity_threshold']}; "
        f"configured threshold {summary['fallback']['threshold']}):",
        "",
        "| threshold | macro-F1 | accuracy | sent to fallback | answered wrongly |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['threshold']:.2f} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | {r['fallback_rate']:.1%} | {r['wrong_rate']:.1%} |"
        for r in summary["threshold_sweep"]
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--only", choices=sorted(HOLDOUTS), action="append", help="score only this set (repeatable)")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"no trained model at {args.model}: run 'make train' first", file=sys.stderr)
        return 2
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    agent = load_agent(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    problems: List[str] = []
    for name, (path, thresholds) in HOLDOUTS.items():
        if args.only and name not in args.only:
            continue
        examples = load_holdout(path)
        started = time.monotonic()
        parses = parse_all(agent, [text for text, _, _ in examples])
        predictions = [to_prediction(example, parse) for example, parse in zip(examples, parses)]
        summary = summarise(predictions, fallback_settings(agent), time.monotonic() - started, thresholds)
        (args.out / f"{name}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        table = markdown(name, summary)
        (args.out / f"{name}.md").write_text(table, encoding="utf-8")
        print(table)
        problems += [f"{name}: {problem}" for problem in summary["failures"]]
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
