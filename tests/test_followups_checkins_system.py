"""Post-op check-ins as patients meet them: a widget patient on an open socket and a Telegram patient (fake Bot
API) tell the bot their procedure was yesterday, the scheduler runs at the check-in's due time
(`python -m bot followups run --now …`), and their answers take the kind close or the emergency path."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tarfile
from datetime import datetime, timedelta

import pytest
import yaml

from bot import hospital
from tests.cluster import SocketPatient
from tests.conftest import MODEL, ROOT, RunningSystem
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import chat_id, message, send


def model_knows_checkins() -> bool:
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("domain.yml"))
        domain = yaml.safe_load(archive.extractfile(member).read())
    return "inform_procedure_done" in domain.get("intents", [])


pytestmark = pytest.mark.skipif(
    MODEL.exists() and not model_knows_checkins(),
    reason="models/current.tar.gz predates data/nlu/followup.yml and data/rules/followup.yml: run make train",
)


def run_scheduler_at_ten(system: RunningSystem) -> str:
    """One scheduler run as if it were 10:00 today in the hospital (when the day-1 check-in is due)."""
    today = datetime.now(hospital.load().timezone).date()
    when = f"{today.isoformat()}T10:00"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "followups", "run", "--now", when],
        cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_widget_patient_gets_the_day_one_check_in_on_the_open_socket_and_answers_it(system: RunningSystem) -> None:
    async def scenario() -> None:
        fine, worried = SocketPatient(system.rasa_url), SocketPatient(system.rasa_url)
        for patient in (fine, worried):
            await patient.connect()
            await patient.say("昨天刚做完双眼皮")
            await patient.message_containing("第 1、3、7、30、90 天")
        # After 10:00 hospital time the running scheduler sends them itself; either way each arrives once.
        await asyncio.to_thread(run_scheduler_at_ten, system)
        for patient in (fine, worried):
            checkin = await patient.message_containing("双眼皮后第 1 天")
            assert [r["payload"] for r in checkin["quick_replies"]] == ["/followup_fine", "/followup_problem", "/followup_stop"]
            assert not any("第 1 天" in text for text in await patient.heard_within(4)), "the check-in came twice"
        await fine.say("挺好的")
        assert "恢复顺利" in (await fine.message_containing("恢复顺利"))["text"]
        await worried.say("出血止不住")
        emergency = await worried.message_containing("120")
        assert hospital.load().on_call_line in emergency["text"]
        for patient in (fine, worried):
            await patient.close()

    asyncio.run(scenario())


def test_a_telegram_patient_gets_the_check_in_with_buttons_and_a_press_gets_a_kind_close(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat, worried = chat_id(), chat_id()
    for patient in (chat, worried):
        send(system, {"message": message(patient, text="昨天刚做完双眼皮")})
        fake_telegram.wait_for("sendMessage", lambda p, c=patient: str(p["chat_id"]) == str(c) and "第 1、3、7" in p["text"])
    run_scheduler_at_ten(system)
    calls = fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "第 1 天" in p["text"])
    checkin = next(c.params for c in calls if str(c.params["chat_id"]) == str(chat) and "第 1 天" in c.params["text"])
    keyboard = checkin["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == ["/followup_fine", "/followup_problem", "/followup_stop"]
    press = {
        "id": f"cb-{chat}", "chat_instance": "x", "data": "/followup_fine",
        "from": {"id": chat, "is_bot": False, "first_name": "患者"},
        "message": {**message(chat, text=checkin["text"]), "from": {"id": 4242, "is_bot": True, "first_name": "医院助手"}},
    }
    send(system, {"callback_query": press})
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "恢复顺利" in p["text"])
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(worried) and "第 1 天" in p["text"])
    send(system, {"message": message(worried, text="出血止不住")})
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(worried) and "120" in p["text"])
