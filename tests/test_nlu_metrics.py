"""The hold-out evaluation's arithmetic: per-intent scores, macro-F1, recalls, thresholds."""

from __future__ import annotations

import pytest

from bot.nlu.metrics import (
    FALLBACK_INTENT,
    Prediction,
    accuracy,
    confusions,
    failures,
    intent_at_threshold,
    intent_scores,
    macro_f1,
    procedure_recall,
    recall_of,
    report,
    threshold_sweep,
)


def p(gold: str, predicted: str, **extra) -> Prediction:
    return Prediction(text=f"{gold}->{predicted}", gold_intent=gold, intent=predicted, **extra)


PREDICTIONS = [
    p("greet", "greet"),
    p("greet", "greet"),
    p("greet", "thank"),
    p("thank", "thank"),
    p("report_emergency", "report_emergency"),
    p("report_emergency", FALLBACK_INTENT),
]


def test_per_intent_precision_recall_and_f1() -> None:
    scores = intent_scores(PREDICTIONS)
    assert scores["greet"].precision == 1.0
    assert scores["greet"].recall == pytest.approx(2 / 3)
    assert scores["greet"].f1 == pytest.approx(0.8)
    assert scores["thank"].precision == 0.5 and scores["thank"].recall == 1.0
    assert scores["thank"].f1 == pytest.approx(2 / 3)
    assert scores["report_emergency"].support == 2
    assert FALLBACK_INTENT not in scores


def test_macro_f1_averages_the_gold_intents_and_counts_a_fallback_as_an_error() -> None:
    scores = intent_scores(PREDICTIONS)
    expected = (0.8 + 2 / 3 + 2 / 3) / 3
    assert macro_f1(scores) == pytest.approx(expected)
    assert accuracy(PREDICTIONS) == pytest.approx(4 / 6)


def test_an_intent_never_predicted_scores_zero_not_an_error() -> None:
    scores = intent_scores([p("deny", "affirm"), p("affirm", "affirm")])
    assert scores["deny"].f1 == 0.0
    assert scores["deny"].precision == 0.0


def test_recall_of_lists_the_missed_texts() -> None:
    recall, missed = recall_of(PREDICTIONS, "report_emergency")
    assert recall == 0.5
    assert missed == [f"report_emergency->{FALLBACK_INTENT}"]


def test_procedure_recall_needs_the_canonical_value_once_per_annotation() -> None:
    predictions = [
        p("inform", "inform", gold_procedures=("双眼皮",), procedures=("双眼皮",)),
        p("inform", "inform", gold_procedures=("玻尿酸", "肉毒素"), procedures=("玻尿酸",)),
        p("inform", "inform", gold_procedures=("隆鼻", "隆鼻"), procedures=("隆鼻",)),
        p("inform", "inform", gold_procedures=("丰胸",), procedures=("隆胸",)),
        p("greet", "greet"),
    ]
    recall, misses = procedure_recall(predictions)
    assert recall == pytest.approx(3 / 6)
    assert [expected for _, expected, _ in misses] == ["肉毒素", "隆鼻", "丰胸"]


def test_confusions_are_the_most_frequent_error_pairs() -> None:
    predictions = PREDICTIONS + [p("greet", "thank")]
    assert confusions(predictions) == [("greet", "thank", 2), ("report_emergency", FALLBACK_INTENT, 1)]


def test_another_threshold_moves_low_confidence_predictions_to_the_fallback() -> None:
    confident = p("greet", "greet", ranking=(("greet", 0.9), ("thank", 0.05)))
    unsure = p("greet", "greet", ranking=(("greet", 0.5), ("thank", 0.3)))
    ambiguous = p("greet", "greet", ranking=(("greet", 0.48), ("thank", 0.46)))
    forced = p("report_emergency", "report_emergency", ranking=(("greet", 0.2),), forced=True)
    assert intent_at_threshold(confident, 0.6, 0.05) == "greet"
    assert intent_at_threshold(unsure, 0.6, 0.05) == FALLBACK_INTENT
    assert intent_at_threshold(unsure, 0.4, 0.05) == "greet"
    assert intent_at_threshold(ambiguous, 0.3, 0.05) == FALLBACK_INTENT
    assert intent_at_threshold(forced, 0.9, 0.05) == "report_emergency"


def test_threshold_sweep_reports_fallback_and_wrong_answers() -> None:
    predictions = [
        p("greet", "greet", ranking=(("greet", 0.9),)),
        p("greet", "thank", ranking=(("thank", 0.5),)),
    ]
    low, high = threshold_sweep(predictions, [0.4, 0.6], ambiguity=0.05)
    assert (low["fallback_rate"], low["wrong_rate"], low["accuracy"]) == (0.0, 0.5, 0.5)
    assert (high["fallback_rate"], high["wrong_rate"], high["accuracy"]) == (0.5, 0.0, 0.5)


def test_failures_name_each_threshold_that_is_not_met() -> None:
    result = report(PREDICTIONS, "report_emergency")
    problems = failures(result, min_macro_f1=0.92, min_procedure_recall=0.9)
    assert any("macro-F1" in problem for problem in problems)
    assert any("report_emergency" in problem for problem in problems)
    assert not any("procedure" in problem for problem in problems)


def test_a_perfect_result_passes() -> None:
    perfect = [p("greet", "greet"), p("report_emergency", "report_emergency", gold_procedures=("隆鼻",), procedures=("隆鼻",))]
    assert failures(report(perfect, "report_emergency"), 0.92, 0.9) == []
