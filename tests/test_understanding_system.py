"""Real patients' questions answered as asked (issue 13's table): the whole system, the REST channel."""

from __future__ import annotations

import json
import urllib.request
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


def test_a_patient_who_wants_to_go_ahead_books_a_consultation_the_console_lists(system: RunningSystem) -> None:
    sender = f"real-{uuid.uuid4().hex[:10]}"
    answer = texts(system.say(sender, "打一次瘦脸针大概要多少钱"))
    assert "参考价" in answer and "需要我帮您登记面诊预约吗" in answer
    assert "希望什么时间来面诊" in texts(system.say(sender, "/affirm"))
    assert "手机号" in texts(system.say(sender, "这周六上午"))
    summary = texts(system.say(sender, "13812345678"))
    assert "面诊预约" in summary and "这周六上午" in summary and "手术/治疗时间" not in summary
    opened = texts(system.say(sender, "是"))
    assert "面诊预约" in opened and "工单号" in opened
    request = urllib.request.Request(f"{system.console_url}/api/tickets?conversation_id={sender}", headers=system.staff_headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        [ticket] = json.loads(response.read().decode("utf-8"))
    assert (ticket["kind"], ticket["procedure"]) == ("consultation", "肉毒素")


def test_asking_to_book_starts_the_booking_at_once(system: RunningSystem) -> None:
    sender = f"real-{uuid.uuid4().hex[:10]}"
    answer = texts(system.say(sender, "我想预约双眼皮的面诊"))
    assert "不需要当天决定或付款" in answer and "不同意" in answer  # the booking asks consent before anything is stored
    assert "希望什么时间来面诊" in texts(system.say(sender, "同意"))
