"""Scores for the NLU hold-out evaluation: pure functions over predictions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Prediction:
    """What the model made of one hold-out example.

    `ranking` is the classifier's own intent ranking (name, confidence), best first,
    without `nlu_fallback`; `forced` tells that the red-flag net set the intent, and
    `unaided_intent` is what the pipeline would have said without that net.
    """

    text: str
    gold_intent: str
    intent: str
    gold_procedures: Tuple[str, ...] = ()
    procedures: Tuple[str, ...] = ()
    ranking: Tuple[Tuple[str, float], ...] = ()
    forced: bool = False
    unaided_intent: str = ""


@dataclass(frozen=True)
class IntentScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    intents: Dict[str, IntentScore]
    macro_f1: float
    accuracy: float
    emergency_recall: float
    emergency_missed: List[str]
    procedure_recall: float
    procedure_misses: List[Tuple[str, str, Tuple[str, ...]]]
    confusions: List[Tuple[str, str, int]]
    errors: List[Tuple[str, str, str]] = field(default_factory=list)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def intent_scores(predictions: Sequence[Prediction]) -> Dict[str, IntentScore]:
    """Precision, recall and F1 for every gold intent of the hold-out."""
    labels = sorted({p.gold_intent for p in predictions})
    scores = {}
    for label in labels:
        true_positive = sum(1 for p in predictions if p.gold_intent == label and p.intent == label)
        predicted = sum(1 for p in predictions if p.intent == label)
        support = sum(1 for p in predictions if p.gold_intent == label)
        precision, recall = _ratio(true_positive, predicted), _ratio(true_positive, support)
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        scores[label] = IntentScore(precision, recall, f1, support)
    return scores


def macro_f1(scores: Dict[str, IntentScore]) -> float:
    return sum(s.f1 for s in scores.values()) / len(scores) if scores else 0.0


def accuracy(predictions: Sequence[Prediction]) -> float:
    return _ratio(sum(1 for p in predictions if p.intent == p.gold_intent), len(predictions))


def recall_of(predictions: Sequence[Prediction], intent: str) -> Tuple[float, List[str]]:
    """Recall of one intent and the texts it missed."""
    relevant = [p for p in predictions if p.gold_intent == intent]
    missed = [p.text for p in relevant if p.intent != intent]
    return _ratio(len(relevant) - len(missed), len(relevant)), missed


def procedure_recall(
    predictions: Sequence[Prediction],
) -> Tuple[float, List[Tuple[str, str, Tuple[str, ...]]]]:
    """Share of annotated procedures extracted with the right canonical value.

    Returns the recall (1.0 when nothing is annotated: nothing was missed) and,
    for each miss, (text, expected value, values found).
    """
    expected = found = 0
    misses = []
    for p in predictions:
        available = Counter(p.procedures)
        for value in p.gold_procedures:
            expected += 1
            if available[value] > 0:
                available[value] -= 1
                found += 1
            else:
                misses.append((p.text, value, p.procedures))
    return (_ratio(found, expected) if expected else 1.0), misses


def confusions(predictions: Iterable[Prediction], top: int = 10) -> List[Tuple[str, str, int]]:
    """The most frequent (gold, predicted) pairs among the errors."""
    pairs = Counter((p.gold_intent, p.intent) for p in predictions if p.intent != p.gold_intent)
    return [(gold, predicted, n) for (gold, predicted), n in pairs.most_common(top)]


def intent_at_threshold(prediction: Prediction, threshold: float, ambiguity: float) -> str:
    """The intent the pipeline would give with another FallbackClassifier setting."""
    if prediction.forced or not prediction.ranking:
        return prediction.intent
    (best, confidence), runner_up = prediction.ranking[0], prediction.ranking[1:2]
    if confidence < threshold:
        return FALLBACK_INTENT
    if runner_up and confidence - runner_up[0][1] < ambiguity:
        return FALLBACK_INTENT
    return best


def threshold_sweep(
    predictions: Sequence[Prediction], thresholds: Iterable[float], ambiguity: float
) -> List[Dict[str, float]]:
    """For each candidate fallback threshold: macro-F1 and accuracy (a fallback counts as
    an error), the share of messages sent to the fallback, and the share answered wrongly."""
    rows = []
    for threshold in thresholds:
        moved = [
            Prediction(p.text, p.gold_intent, intent_at_threshold(p, threshold, ambiguity))
            for p in predictions
        ]
        rows.append(
            {
                "threshold": round(threshold, 2),
                "macro_f1": macro_f1(intent_scores(moved)),
                "accuracy": accuracy(moved),
                "fallback_rate": _ratio(sum(1 for p in moved if p.intent == FALLBACK_INTENT), len(moved)),
                "wrong_rate": _ratio(
                    sum(1 for p in moved if p.intent not in (FALLBACK_INTENT, p.gold_intent)), len(moved)
                ),
            }
        )
    return rows


def report(predictions: Sequence[Prediction], emergency_intent: str) -> Report:
    scores = intent_scores(predictions)
    emergency, missed = recall_of(predictions, emergency_intent)
    procedures, procedure_misses = procedure_recall(predictions)
    return Report(
        intents=scores,
        macro_f1=macro_f1(scores),
        accuracy=accuracy(predictions),
        emergency_recall=emergency,
        emergency_missed=missed,
        procedure_recall=procedures,
        procedure_misses=procedure_misses,
        confusions=confusions(predictions),
        errors=[(p.text, p.gold_intent, p.intent) for p in predictions if p.intent != p.gold_intent],
    )


def failures(result: Report, min_macro_f1: float, min_procedure_recall: float) -> List[str]:
    """Why the result is not good enough; empty when it passes."""
    problems: List[str] = []
    if result.macro_f1 < min_macro_f1:
        problems.append(f"intent macro-F1 {result.macro_f1:.3f} is below {min_macro_f1:.2f}")
    if result.emergency_missed:
        problems.append(f"{len(result.emergency_missed)} report_emergency example(s) missed: {result.emergency_missed}")
    if result.procedure_recall < min_procedure_recall:
        problems.append(f"procedure recall {result.procedure_recall:.3f} is below {min_procedure_recall:.2f}")
    return problems

