"""Real patients' questions answered as asked (issue 13's table): the whole system, the REST channel."""

from __future__ import annotations

import uuid

from tests.conftest import RunningSystem


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def ask(system: RunningSystem, message: str) -> str:
    return texts(system.say(f"real-{uuid.uuid4().hex[:10]}", message))


def test_a_colloquial_price_question_gets_the_price_not_the_leaflet(system: RunningSystem) -> None:
    answer = ask(system, "打一次瘦脸针大概要多少钱")
    assert "参考价" in answer and "书面报价" in answer
    assert "【术前须知】" not in answer


def test_a_short_pre_op_pain_question_is_not_a_post_op_report(system: RunningSystem) -> None:
    answer = ask(system, "割双眼皮疼吗")
    assert "麻醉" in answer
    assert "需要我为您登记吗" not in answer and "【正常反应与时间】" not in answer


def test_a_question_after_a_preamble_is_answered_not_greeted(system: RunningSystem) -> None:
    answer = ask(system, "医生您好，我今年30岁，想问一下法令纹可以打玻尿酸吗？")
    assert "玻尿酸" in answer
    assert "我是医院的在线助手" not in answer


def test_another_departments_question_gets_an_honest_out_of_scope_answer(system: RunningSystem) -> None:
    answer = ask(system, "宝宝有点斜视怎么办")
    assert "帮不上忙" in answer
    assert "请问是哪个项目" not in answer


def test_a_complaint_about_a_crooked_nose_gets_the_asymmetry_answer_and_a_ticket_offer(system: RunningSystem) -> None:
    answer = ask(system, "我要投诉，隆鼻做歪了")
    assert "「隆鼻」" in answer and "需要我为您登记吗" in answer
    assert "抱歉，我没有完全理解" not in answer
