"""Tickets and policy answers as a patient meets them: the whole system, the REST channel, the database."""

from __future__ import annotations

import re
import time
import uuid

from sqlalchemy import create_engine, text

from bot import hospital
from tests.conftest import RunningSystem
from tests.fake_sms import FakeSms

PHONE = "13812345678"
# A ticket-opening turn covers NLU, the form's last step, the database insert and the reply.
TICKET_TURN_BUDGET_SECONDS = 5.0


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def open_refund_ticket(system: RunningSystem, sender: str) -> tuple:
    """A refund request for 双眼皮 carried through the form; returns the last reply and the turn's duration."""
    replies = [r.get("text", "") for r in system.say(sender, "我想退款")]
    assert any("【需要准备的材料" in r and "【办理步骤与时限】" in r and "【对结论有异议时" in r for r in replies)
    assert "需要我为您登记吗" in replies[-1]
    assert "哪个项目" in texts(system.say(sender, "是"))
    assert "什么时候做的" in texts(system.say(sender, "双眼皮"))
    assert "描述" in texts(system.say(sender, "上个月15号"))
    assert "手机号" in texts(system.say(sender, "两边眼皮一宽一窄，和术前设计的不一样，想退款"))
    confirmation = texts(system.say(sender, PHONE))
    assert "138****5678" in confirmation and PHONE not in confirmation and "双眼皮" in confirmation
    started = time.perf_counter()
    opened = texts(system.say(sender, "是"))
    return opened, time.perf_counter() - started


def test_a_refund_for_double_eyelids_ends_with_a_ticket_that_only_the_right_phone_can_see(
    system: RunningSystem, fake_sms: FakeSms
) -> None:
    sender = f"p-{uuid.uuid4()}"
    opened, seconds = open_refund_ticket(system, sender)
    match = re.search(r"TK\d{16}", opened)
    assert match, opened
    number = match.group(0)
    assert "下一步" in opened and "1 个工作日内" in opened
    assert seconds < TICKET_TURN_BUDGET_SECONDS, f"the ticket-opening turn took {seconds:.2f} s"

    engine = create_engine(system.env["DATABASE_URL"], future=True)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT kind, category, procedure, status, phone, conversation_id FROM tickets WHERE number = :n"),
            {"n": number},
        ).one()
    engine.dispose()
    assert tuple(row) == ("refund", "surgery", "双眼皮", "open", PHONE, sender)

    asker = f"p-{uuid.uuid4()}"
    assert "手机号" in texts(system.say(asker, "查一下我的工单进度"))
    wrong = texts(system.say(asker, f"{number} 13900000000"))
    assert "没有找到" in wrong and number not in wrong and "双眼皮" not in wrong

    system.say(asker, "查询工单进度")
    earlier = len(fake_sms.messages)
    asked = texts(system.say(asker, f"{number} {PHONE}"))
    assert "138****5678" in asked and "验证码" in asked and "当前状态" not in asked
    code = fake_sms.code_sent_to(PHONE, after=earlier)
    right = texts(system.say(asker, code))
    assert number in right and "当前状态：已登记，等待受理" in right and "下一步" in right


def test_an_asymmetry_a_month_after_surgery_gets_the_time_frame_and_the_revision_policy_in_one_answer(
    system: RunningSystem,
) -> None:
    replies = system.say(f"p-{uuid.uuid4()}", "双眼皮做了一个月，两边一宽一窄")
    answer = next(r["text"] for r in replies if "「双眼皮」" in r.get("text", ""))
    assert "3–6 个月" in answer and "【修复：时机与费用】" in answer and "修复免费" in answer


def test_cancelling_the_form_leaves_no_ticket(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    system.say(sender, "我想退款")
    system.say(sender, "是")
    system.say(sender, "双眼皮")
    assert "已取消" in texts(system.say(sender, "不办了"))
    engine = create_engine(system.env["DATABASE_URL"], future=True)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM tickets WHERE conversation_id = :c"), {"c": sender}).scalar()
    engine.dispose()
    assert count == 0


def test_a_red_flag_in_the_middle_of_the_form_gets_120_and_a_person_at_once(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    system.say(sender, "我想退款")
    system.say(sender, "是")
    assert "什么时候做的" in texts(system.say(sender, "隆鼻"))
    replies = texts(system.say(sender, "伤口裂开了一直流血止不住"))
    assert "120" in replies and hospital.load().on_call_line in replies
    assert "值班医护团队" in replies
    assert "什么时候做的" not in replies and "请简单描述" not in replies
