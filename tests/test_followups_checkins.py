"""Post-op check-ins: the schedule per procedure and member tier, the day a patient names, the actions that
register a procedure and take the answer, and the staff API that records one."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import followups as followup_actions
from bot import policies
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.followups import checkins, records, scheduler, surgery_date
from bot.staff import create_staff
from bot.store import db, migrate

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = date(2026, 12, 8)


@pytest.mark.parametrize(
    "words, day",
    [
        ("昨天", date(2026, 12, 7)),
        ("我前天做的", date(2026, 12, 6)),
        ("三天前", date(2026, 12, 5)),
        ("10天前", date(2026, 11, 28)),
        ("上周五", date(2026, 12, 4)),
        ("周一", date(2026, 12, 7)),
        ("12月3日", date(2026, 12, 3)),
        ("十二月三号", date(2026, 12, 3)),
        ("25号", date(2026, 11, 25)),
        ("上个月15号", date(2026, 11, 15)),
        ("2026-11-30", date(2026, 11, 30)),
        ("12月20日", date(2025, 12, 20)),
    ],
)
def test_the_day_a_patient_names_is_understood(words: str, day: date) -> None:
    assert surgery_date.parse(words, TUESDAY) == day


@pytest.mark.parametrize("words", ["", "明天", "下周", "去年", "2020-01-01", "2026-02-30", "很久以前", "x" * 500, None])
def test_words_that_name_no_past_day_give_none(words) -> None:
    assert surgery_date.parse(words, TUESDAY) is None


def test_higher_member_tiers_get_more_check_ins_and_every_procedure_has_a_schedule() -> None:
    ordinary = checkins.days_after("双眼皮")
    assert ordinary == [1, 3, 7, 30, 90]
    silver, gold = checkins.days_after("双眼皮", "silver"), checkins.days_after("双眼皮", "gold")
    assert set(ordinary) < set(silver) < set(gold) and max(gold) == 180
    assert checkins.days_after("不在目录的项目") == [1, 3, 7, 30, 90]
    assert checkins.days_after("脱毛") == [1, 7]
    snapshot_procedures = set(__import__("yaml").safe_load(
        (Path(__file__).resolve().parent.parent / "data/policies/procedures.yml").read_text(encoding="utf-8")
    )["procedures"])
    assert snapshot_procedures <= set(checkins.texts.node("postop.schedule"))
    with pytest.raises(ValueError):
        checkins.days_after("双眼皮", "platinum")


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'checkins.db'}"
    migrate.upgrade(url)
    policies.load(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def scheduled(url: str, conversation: str = "p-1") -> List[Any]:
    with db.session_scope(url) as session:
        return [r for r in records.list_followups(session, conversation) if r.kind == "postop_checkin"]


def test_the_plan_starts_today_at_ten_and_a_new_plan_replaces_the_old(url: str) -> None:
    now = datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    with db.session_scope(url) as session:
        checkins.plan(session, "p-1", "socketio", "双眼皮", date(2026, 12, 7), now=now)
    rows = scheduled(url)
    assert [r.due_at.astimezone(SHANGHAI) for r in rows][0] == datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI)
    assert len(rows) == 5 and {r.channel for r in rows} == {"socketio"}
    message = records.Message.from_json(rows[0].payload)
    assert "双眼皮后第 1 天" in message.text and [b["payload"] for b in message.buttons] == [
        "/followup_fine", "/followup_problem", "/followup_stop"
    ]
    # Registered a week late: the days already past are not sent.
    with db.session_scope(url) as session:
        checkins.plan(session, "p-1", "socketio", "双眼皮", date(2026, 11, 30), tier="gold", now=now)
    live = [r for r in scheduled(url) if r.status == "scheduled"]
    assert [(r.due_at.astimezone(SHANGHAI).date() - date(2026, 11, 30)).days for r in live] == [14, 21, 30, 60, 90, 180]


def run_action(action: Any, events: List[Dict[str, Any]], sender: str = "p-1") -> tuple:
    latest = next(e["parse_data"] for e in reversed(events) if e["event"] == "user")
    tracker = Tracker(sender, {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker, {}))
    return [m["text"] for m in dispatcher.messages], result


def user(text: str, intent: str, channel: str = "telegram", **entities: str) -> Dict[str, Any]:
    return {
        "event": "user", "text": text, "input_channel": channel,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.99},
                       "entities": [{"entity": k, "value": v} for k, v in entities.items()]},
    }


def test_a_patient_who_names_the_procedure_and_yesterday_gets_the_check_ins(url: str) -> None:
    said, events = run_action(
        followup_actions.ActionFollowupRegister(),
        [user("我昨天做了双眼皮", "inform_procedure_done", procedure="双眼皮", surgery_time="昨天")],
    )
    assert "双眼皮" in said[0] and "第 1、3、7、30、90 天" in said[0]
    rows = scheduled(url)
    assert len(rows) == 5 and rows[0].channel == "telegram"
    assert {"event": "slot", "name": "procedure", "value": "双眼皮", "timestamp": None} in events


def test_without_a_day_the_bot_asks_for_it_and_schedules_nothing(url: str) -> None:
    said, _ = run_action(
        followup_actions.ActionFollowupRegister(), [user("我做了双眼皮", "inform_procedure_done", procedure="双眼皮")]
    )
    assert "哪一天" in said[0] and scheduled(url) == []


def send_due_checkin(url: str) -> None:
    with db.session_scope(url) as session:
        checkins.plan(session, "p-1", "telegram", "双眼皮", date(2026, 12, 7), now=datetime(2026, 12, 8, tzinfo=timezone.utc))
    scheduler.run_due(lambda *args: None, now=datetime(2026, 12, 8, 3, tzinfo=timezone.utc), url=url)


def test_fine_closes_kindly_and_marks_the_check_in_answered(url: str) -> None:
    send_due_checkin(url)
    said, _ = run_action(followup_actions.ActionFollowupAnswer(), [user("挺好的", "followup_fine")])
    assert "恢复顺利" in said[0]
    statuses = [r.status for r in scheduled(url)]
    assert statuses == ["answered", "scheduled", "scheduled", "scheduled", "scheduled"]
    assert scheduled(url)[0].answer == "挺好的"


def test_one_reply_stops_every_check_in_still_to_come(url: str) -> None:
    send_due_checkin(url)
    said, _ = run_action(followup_actions.ActionFollowupAnswer(), [user("不用再回访了", "followup_stop")])
    assert "停止" in said[0]
    assert [r.status for r in scheduled(url)] == ["answered", "cancelled", "cancelled", "cancelled", "cancelled"]


def test_a_problem_goes_on_to_a_post_op_ticket_for_the_procedure(url: str) -> None:
    send_due_checkin(url)
    said, events = run_action(followup_actions.ActionFollowupAnswer(), [user("有点不舒服", "followup_problem")])
    assert "工单" in said[0]
    assert {"event": "slot", "name": "procedure", "value": "双眼皮", "timestamp": None} in events
    from bot import tickets

    assert tickets.kind_for_intents(["followup_problem"]) == "postop"


def test_an_answer_with_no_check_in_waiting_says_so(url: str) -> None:
    said, _ = run_action(followup_actions.ActionFollowupAnswer(), [user("挺好的", "followup_fine")])
    assert "没有需要您回复的回访" in said[0]


def test_staff_record_a_procedure_and_see_the_patients_schedule(url: str) -> None:
    with db.session_scope(url) as session:
        create_staff(session, "li", "pw-123456")
    app = create_app(ConsoleConfig(database_url=url, rasa_url="http://127.0.0.1:9", rasa_token="t"))
    with TestClient(app) as client:
        token = client.post("/api/login", json={"username": "li", "password": "pw-123456"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).date().isoformat()
        body = {"conversation_id": "p-9", "channel": "telegram", "procedure": "隆鼻", "surgery_date": yesterday, "tier": "gold"}
        planned = client.post("/api/followups/postop", json=body, headers=headers)
        assert planned.status_code == 200
        assert len(planned.json()) == len(checkins.days_after("隆鼻", "gold"))
        listed = client.get("/api/followups", params={"conversation_id": "p-9"}, headers=headers).json()
        assert [f["id"] for f in listed] == [f["id"] for f in planned.json()]
        for bad in ({**body, "procedure": "做个鼻子"}, {**body, "tier": "platinum"}, {**body, "surgery_date": "昨天"}):
            assert client.post("/api/followups/postop", json=bad, headers=headers).status_code == 422
        assert client.post("/api/followups/postop", json=body).status_code == 401
