"""The policy-answer actions with real trackers and a real database of published policies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actions import policy as policy_actions
from bot import policies
from tests.test_actions_tickets import action, database, domain, loop, run, slot, slot_values, user  # noqa: F401


def answer_after(*events):
    return [action("action_listen"), *events]


def test_an_asymmetry_a_month_after_surgery_gets_time_frame_and_revision_in_one_answer(domain, database) -> None:
    events, texts, _ = run(
        policy_actions.ActionPolicyAnswer(),
        answer_after(
            user("双眼皮做了一个月，两边一宽一窄", "complain_asymmetry", procedure="双眼皮", surgery_time="一个月"),
            slot("procedure", "双眼皮"),
            loop("policy_form"), loop(None), action("policy_form"),
        ),
        domain,
        latest_action="policy_form",
    )
    values = slot_values(events)
    assert texts == []
    assert values["policy_followup"] == "offer_ticket"
    text = values["policy_text"]
    assert text.startswith("关于「双眼皮」")
    assert "1–3 个月" in text and "3–6 个月" in text and "修复免费" in text and "【退款】" in text


def test_the_procedure_asked_for_afterwards_answers_the_original_question(domain, database) -> None:
    events, _, _ = run(
        policy_actions.ActionPolicyAnswer(),
        answer_after(
            user("打完之后起水泡了", "report_side_effect"), loop("policy_form"), slot("requested_slot", "procedure"),
            action("action_listen"), user("光子嫩肤", "inform", procedure="光子嫩肤"), slot("procedure", "光子嫩肤"),
            loop(None), action("policy_form"),
        ),
        domain,
        latest_action="policy_form",
    )
    text = slot_values(events)["policy_text"]
    assert "「光子嫩肤」" in text and "【不良反应】起水泡" in text and "【需要立即就医的情况】" in text


@pytest.mark.parametrize(
    "intent, followup",
    [("request_refund", "offer_ticket"), ("request_revision", "offer_ticket"), ("ask_recovery", "answer_only"),
     ("ask_refund_policy", "offer_ticket"), ("report_postop_pain", "offer_ticket"),
     ("ask_procedure_info", "offer_consultation")],
)
def test_a_request_or_a_problem_gets_a_ticket_offer_a_pre_op_question_a_consultation_offer(
    domain, database, intent: str, followup: str
) -> None:
    events, _, _ = run(
        policy_actions.ActionPolicyAnswer(), answer_after(user("…", intent), slot("procedure", "隆鼻")), domain,
        latest_action="action_listen",
    )
    assert slot_values(events)["policy_followup"] == followup


def test_a_refund_request_gets_the_whole_policy_at_once(domain, database) -> None:
    events, _, _ = run(policy_actions.ActionPolicyAnswer(), answer_after(user("我想退款", "request_refund")), domain)
    text = slot_values(events)["policy_text"]
    for part in ("【可以申请退款的情形】", "【需要准备的材料", "【办理步骤与时限】", "【退款金额怎么算", "【定金】", "【对结论有异议时"):
        assert part in text


def test_a_question_inside_the_ticket_form_is_answered_without_a_followup(domain, database) -> None:
    events, _, _ = run(
        policy_actions.ActionPolicyAnswer(),
        answer_after(
            user("我想退款", "request_refund"), loop("ticket_form"), slot("requested_slot", "phone_number"),
            action("action_listen"), user("退款多久到账", "ask_refund_policy"),
        ),
        domain,
    )
    assert slot_values(events)["policy_followup"] == "answer_only"


def test_an_edited_policy_is_quoted_after_a_reload_without_restarting(domain, database, tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(policies.POLICY_DIR, directory)
    conversation = answer_after(user("隆鼻后多久能戴眼镜", "ask_recovery", procedure="隆鼻"), slot("procedure", "隆鼻"))
    before, _, _ = run(policy_actions.ActionPolicyAnswer(), conversation, domain)
    path = directory / "procedures.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("不戴框架眼镜", "不戴任何眼镜", 1), encoding="utf-8")
    policies.load(database, directory)
    after, _, _ = run(policy_actions.ActionPolicyAnswer(), conversation, domain)
    assert "不戴框架眼镜" in slot_values(before)["policy_text"]
    assert "不戴任何眼镜" in slot_values(after)["policy_text"]


def test_the_procedure_question_offers_every_procedure_as_a_button(domain, database) -> None:
    _, texts, messages = run(policy_actions.ActionAskProcedure(), answer_after(user("两边不一样", "complain_asymmetry")), domain)
    buttons = messages[0]["buttons"]
    assert "哪个项目" in texts[0]
    assert len(buttons) == 19
    assert buttons[0] == {"title": "双眼皮", "payload": '/inform{"procedure": "双眼皮"}'}


def test_the_procedure_question_can_be_cancelled(domain, database) -> None:
    events, _, _ = run(
        policy_actions.ValidatePolicyForm(),
        answer_after(user("两边不一样", "complain_asymmetry"), loop("policy_form"), slot("requested_slot", "procedure"),
                     action("action_listen"), user("算了", "deny"), slot("procedure", "算了")),
        domain,
    )
    assert [e["event"] for e in events] == ["slot", "action_execution_rejected"]
    assert slot_values(events) == {"procedure": None}


def test_a_new_question_is_answered_for_the_procedure_it_names_not_the_one_before(domain, database) -> None:
    earlier = answer_after(
        user("双眼皮做完肿得厉害", "report_postop_pain", procedure="双眼皮"), slot("procedure", "双眼皮"),
        loop("policy_form"), slot("requested_slot", None), loop(None), action("action_policy_answer"),
    )
    events, _, _ = run(
        policy_actions.ValidatePolicyForm(),
        earlier + [action("action_listen"), user("打一次瘦脸针大概要多少钱", "ask_procedure_info", procedure="肉毒素"),
                   slot("procedure", "肉毒素"), loop("policy_form")],
        domain,
    )
    assert slot_values(events) == {"procedure": "肉毒素"}


def asked(text: str, intent: str, topic: str, confidence: float = 0.9, **entities: str):
    """A question whose ResponseSelector picked `intent/topic`."""
    event = user(text, intent, **entities)
    event["parse_data"]["response_selector"] = {
        "default": {"response": {"intent_response_key": f"{intent}/{topic}", "confidence": confidence}}
    }
    return event


def topic_answer(domain, *events):
    result, _, _ = run(policy_actions.ActionPolicyAnswer(), answer_after(*events), domain, latest_action="policy_form")
    return slot_values(result)


def test_a_price_question_gets_the_price_not_the_leaflet(domain, database) -> None:
    values = topic_answer(
        domain,
        asked("打一次瘦脸针大概要多少钱", "ask_procedure_info", "price", procedure="肉毒素"),
        slot("procedure", "肉毒素"), loop("policy_form"), loop(None), action("policy_form"),
    )
    text = values["policy_text"]
    assert "参考价" in text and "面诊" in text and "书面报价" in text
    assert "【术前须知】" not in text  # not the whole leaflet


def test_a_pre_op_pain_question_is_answered_before_the_operation_not_as_a_post_op_report(domain, database) -> None:
    text = topic_answer(
        domain,
        asked("割双眼皮疼吗", "ask_procedure_info", "pain", procedure="双眼皮"),
        slot("procedure", "双眼皮"), loop("policy_form"), loop(None), action("policy_form"),
    )["policy_text"]
    assert "麻醉" in text and "【正常反应与时间】" not in text


def test_an_unsure_topic_gets_the_whole_answer(domain, database) -> None:
    text = topic_answer(
        domain,
        asked("隆鼻怎么样", "ask_procedure_info", "price", confidence=0.2, procedure="隆鼻"),
        slot("procedure", "隆鼻"), loop("policy_form"), loop(None), action("policy_form"),
    )["policy_text"]
    assert "【术前须知】" in text


def test_a_question_about_one_part_of_the_refund_policy_gets_that_part_first(domain, database) -> None:
    values = topic_answer(domain, asked("退款要带什么材料", "ask_refund_policy", "documents"))
    text = values["policy_text"]
    assert "【需要准备的材料" in text and "完整退款政策" in text
    assert "【对结论有异议时" not in text and "【办理步骤与时限】" not in text
    whole = topic_answer(domain, asked("完整退款政策", "ask_refund_policy", "general"))["policy_text"]
    assert "【需要准备的材料" in whole and "【对结论有异议时" in whole and "【办理步骤与时限】" in whole


def test_no_answer_shows_an_unfilled_placeholder(domain, database) -> None:
    snapshot = policies.PolicySnapshot({e.key: e.body for e in policies.read_directory()})
    for procedure in snapshot.children("procedures"):
        for topic in ("price", "risks", "materials"):
            text = policy_actions.answers.policy_text("ask_procedure_info", procedure, snapshot, topic)
            assert "{" not in text, (procedure, topic)
