"""The satisfaction question as a Telegram patient (fake Bot API) meets it: handed to a person, released from the
console, asked once ten minutes later with five buttons (`python -m bot followups run --now …`); a press of 不满意 is
recorded on the question and answered with an offer of a person or a complaint."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest
import yaml

from tests.conftest import MODEL, ROOT, RunningSystem, post_json
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import chat_id, message, send, texts_to


def model_knows_rate_service() -> bool:
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("domain.yml"))
        domain = yaml.safe_load(archive.extractfile(member).read())
    return "rate_service" in domain.get("intents", [])


pytestmark = pytest.mark.skipif(
    MODEL.exists() and not model_knows_rate_service(),
    reason="models/current.tar.gz predates rate_service and data/rules/satisfaction.yml: run make train",
)


def get_json(url: str, headers: Dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read())


def run_scheduler_in(system: RunningSystem, minutes: int) -> str:
    """One scheduler run as if it were `minutes` from now."""
    when = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "followups", "run", "--now", when],
        cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_released_telegram_patient_is_asked_once_and_a_low_score_is_recorded_and_offered_help(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat = chat_id()
    mine = lambda p: str(p["chat_id"]) == str(chat)  # noqa: E731 - the chat's own messages
    send(system, {"message": message(chat, text="转人工")})
    fake_telegram.wait_for("sendMessage", lambda p: mine(p) and "人工客服" in p["text"])
    staff = system.staff_headers()
    queue = get_json(f"{system.console_url}/api/handoffs?status=waiting", staff)
    [handoff] = [h for h in queue if h["channel"] == "telegram" and h["conversation_id"].endswith(str(chat))]
    console = f"{system.console_url}/api/handoffs/{handoff['id']}"
    post_json(f"{console}/claim", {}, staff)
    post_json(f"{console}/release", {}, staff)
    fake_telegram.wait_for("sendMessage", lambda p: mine(p) and "继续为您解答" in p["text"])

    run_scheduler_in(system, 11)
    calls = fake_telegram.wait_for("sendMessage", lambda p: mine(p) and "满意吗" in p["text"])
    question = next(c.params for c in calls if mine(c.params) and "满意吗" in c.params["text"])
    keyboard = question["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["非常满意", "满意", "一般", "不满意", "很不满意"]
    assert keyboard[3][0]["callback_data"] == '/rate_service{"satisfaction_score":"2"}'
    run_scheduler_in(system, 12)

    press = {
        "id": f"cb-{chat}", "chat_instance": "x", "data": keyboard[3][0]["callback_data"],
        "from": {"id": chat, "is_bot": False, "first_name": "患者"},
        "message": {**message(chat, text=question["text"]), "from": {"id": 4242, "is_bot": True, "first_name": "医院助手"}},
    }
    send(system, {"callback_query": press})
    calls = fake_telegram.wait_for("sendMessage", lambda p: mine(p) and "没有让您满意" in p["text"])
    help_offer = next(c.params for c in calls if mine(c.params) and "没有让您满意" in c.params["text"])
    offered = [row[0]["callback_data"] for row in help_offer["reply_markup"]["inline_keyboard"]]
    assert offered == ["/request_human", "/complain_service"]
    followups = get_json(f"{system.console_url}/api/followups?conversation_id={handoff['conversation_id']}", staff)
    [asked] = [f for f in followups if f["kind"] == "satisfaction_survey"]
    assert (asked["status"], asked["answer"]) == ("answered", "2")
    assert sum("满意吗" in text for text in texts_to(fake_telegram, chat)) == 1
