"""The staff API (CONTRACT.md §6) with FastAPI's TestClient, a real database and a recording fake of Rasa."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot import staff as accounts
from bot.console import live, messages
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.handoff_events import HandoffState, Snapshot, queue_event
from bot.roles import Role
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent, utcnow
from tests.conftest import served
from tests.services import fresh_postgres_database

PASSWORD = "correct horse battery"


class FakeRasa:
    """Records what the console asks of Rasa's HTTP API and answers like Rasa does."""

    def __init__(self) -> None:
        self.requests: List[httpx.Request] = []
        self.events: Dict[str, list] = {}
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.requests.append(request)
        conversation = request.url.path.split("/")[2]
        if request.method == "POST":
            self.events.setdefault(conversation, []).extend(json.loads(request.content))
        return httpx.Response(200, json={"sender_id": conversation, "events": self.events.get(conversation, [])})

    def appended(self) -> List[tuple]:
        return [(r.url.path, dict(r.url.params), json.loads(r.content)) for r in self.requests if r.method == "POST"]


def prepare(url: str) -> None:
    migrate.upgrade(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "li", PASSWORD, "李护士")
        accounts.create_staff(session, "wang", PASSWORD, "王医生")
        accounts.create_staff(session, "boss", PASSWORD, "主管", role=Role.ADMIN)


@pytest.fixture()
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    prepare(url)
    return url


@pytest.fixture()
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture()
def make_client(database, rasa) -> Iterator[Callable[[], TestClient]]:
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    app = create_app(config, RasaClient(config, transport=httpx.MockTransport(rasa.handle)))
    yield lambda: TestClient(app)


@pytest.fixture()
def client(make_client) -> TestClient:
    return make_client()


def login(client: TestClient, username: str) -> Dict[str, str]:
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def add_handoff(url: str, conversation_id: str, priority: str = "normal", minutes_ago: int = 0, channel: str = "socketio") -> int:
    reason = {"urgent": "emergency", "high": "anger", "normal": "user_request"}[priority]
    with session_scope(url) as session:
        handoff = Handoff(
            conversation_id=conversation_id,
            channel=channel,
            reason=reason,
            priority=priority,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(handoff)
        session.flush()
        return handoff.id


def add_rasa_events(url: str, events: List[Tuple[str, str, float, Optional[str]]]) -> None:
    """(sender_id, type_name, timestamp, intent_name) rows in Rasa's tracker store table, created as Rasa creates it."""
    with session_scope(url) as session:
        session.execute(text(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255),"
            " data TEXT)"
        ))
        session.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, intent_name) VALUES (:s, :k, :t, :i)"),
            [{"s": s, "k": k, "t": t, "i": i} for s, k, t, i in events],
        )


def test_every_api_call_but_login_needs_a_valid_token(client) -> None:
    routes = [(r.path, m) for r in client.app.routes for m in getattr(r, "methods", ()) if r.path.startswith("/api/")]
    protected = [(p, m) for p, m in routes if p != "/api/login"]
    assert len(protected) >= 9
    for path, method in protected:
        concrete = path.replace("{handoff_id}", "1").replace("{item_id}", "1").replace("{conversation_id:path}", "c").replace("{number}", "T1")
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = client.request(method, concrete, headers=headers)
            assert response.status_code == 401, (method, path, response.text)


def test_a_wrong_password_or_unknown_user_gets_no_token(client) -> None:
    for body in ({"username": "li", "password": "wrong password"}, {"username": "nobody", "password": PASSWORD}):
        response = client.post("/api/login", json=body)
        assert response.status_code == 401
        assert "access_token" not in response.json()


def test_an_expired_token_is_refused(client, database) -> None:
    with session_scope(database) as session:
        li = accounts.authenticate(session, "li", PASSWORD)
        stale = accounts.issue_token(session, li, now=utcnow() - accounts.token_lifetime() - timedelta(minutes=1))
    response = client.get("/api/handoffs", headers={"Authorization": f"Bearer {stale}"})
    assert response.status_code == 401


def test_after_logout_the_token_no_longer_works(client) -> None:
    li = login(client, "li")
    assert client.get("/api/me", headers=li).json()["display_name"] == "李护士"
    assert client.post("/api/logout", headers=li).status_code == 204
    assert client.get("/api/me", headers=li).status_code == 401


def test_tokens_and_passwords_are_stored_hashed(client, database) -> None:
    token = login(client, "li")["Authorization"].split()[1]
    with session_scope(database) as session:
        stored = session.execute(
            text("SELECT s.password_hash, t.token_hash FROM staff s JOIN staff_tokens t ON t.staff_id = s.id")
        ).all()
    assert stored and all(PASSWORD not in row[0] and token != row[1] for row in stored)
    assert stored[0][0].startswith("$argon2")


def test_the_queue_lists_urgent_first_then_oldest(client, database) -> None:
    add_handoff(database, "old-normal", "normal", minutes_ago=30)
    add_handoff(database, "new-urgent", "urgent", minutes_ago=1)
    add_handoff(database, "older-high", "high", minutes_ago=20)
    add_handoff(database, "newer-normal", "normal", minutes_ago=5)
    response = client.get("/api/handoffs?status=waiting", headers=login(client, "li"))

    assert response.status_code == 200
    queue = response.json()
    assert [h["conversation_id"] for h in queue] == ["new-urgent", "older-high", "old-normal", "newer-normal"]
    assert set(queue[0]) >= {"id", "conversation_id", "channel", "reason", "priority", "status", "created_at"}
    assert queue[2]["waiting_seconds"] >= 30 * 60


def test_a_red_flag_written_while_waiting_moves_the_patient_to_the_top(client, database) -> None:
    add_handoff(database, "angry", "high", minutes_ago=20)
    add_handoff(database, "waiting", "normal", minutes_ago=10)
    add_handoff(database, "earlier-flag", "normal", minutes_ago=5)
    now = utcnow().timestamp()
    add_rasa_events(database, [
        ("waiting", "user", now - 60, "report_emergency"),
        ("earlier-flag", "user", now - 3600, "report_emergency"),
        ("angry", "user", now - 30, "express_anger"),
    ])
    queue = client.get("/api/handoffs?status=waiting", headers=login(client, "li")).json()

    assert [(h["conversation_id"], h["priority"], h["reason"]) for h in queue] == [
        ("waiting", "urgent", "emergency"),
        ("angry", "high", "anger"),
        ("earlier-flag", "normal", "user_request"),
    ]


def test_claim_reply_and_release_reach_the_patient_on_their_channel(client, database, rasa) -> None:
    handoff_id = add_handoff(database, "widget-patient", channel="socketio")
    li = login(client, "li")

    claimed = client.post(f"/api/handoffs/{handoff_id}/claim", headers=li).json()
    assert (claimed["status"], claimed["assigned_to"]) == ("active", "li")

    sent = client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "您好，我是李护士"})
    assert sent.status_code == 200, sent.text
    released = client.post(f"/api/handoffs/{handoff_id}/release", headers=li)
    assert released.json()["status"] == "closed"

    (_, pause_params, pause), (reply_path, reply_params, reply), (_, release_params, release) = rasa.appended()
    assert pause == [{"event": "pause"}] and "output_channel" not in pause_params
    assert reply_path == "/conversations/widget-patient/tracker/events"
    assert reply_params == {"output_channel": "socketio", "execute_side_effects": "true"}, "no token in a URL"
    bearer = rasa.requests[1].headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(bearer, "secret", algorithms=["HS256"])["user"]["role"] == "admin"
    assert reply == [{"event": "bot", "text": "您好，我是李护士", "metadata": {"staff": "li"}}]
    assert release_params["output_channel"] == "socketio"
    assert release[0] == {"event": "resume"}
    assert release[1]["event"] == "bot" and "转人工" in release[1]["text"]
    assert release[2] == {"event": "action", "name": "action_listen"}, "the bot would not listen after the release"


def test_only_the_holder_may_reply_or_release(client, database, rasa) -> None:
    handoff_id = add_handoff(database, "held")
    li, wang = login(client, "li"), login(client, "wang")
    assert client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "早"}).status_code == 409
    client.post(f"/api/handoffs/{handoff_id}/claim", headers=li)

    assert client.post(f"/api/handoffs/{handoff_id}/claim", headers=wang).status_code == 409
    assert client.post(f"/api/handoffs/{handoff_id}/messages", headers=wang, json={"text": "我来"}).status_code == 403
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=wang).status_code == 403
    assert [events for _, _, events in rasa.appended()] == [[{"event": "pause"}]]
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=login(client, "boss")).status_code == 200


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "长" * 20_000}, "4000"),
        ({}, "text"),
        ("{not json", "JSON"),
    ],
)
def test_bad_replies_are_refused_with_a_clear_message(client, database, rasa, body, needle) -> None:
    handoff_id = add_handoff(database, "p")
    li = login(client, "li")
    client.post(f"/api/handoffs/{handoff_id}/claim", headers=li)
    if isinstance(body, str):
        response = client.post(f"/api/handoffs/{handoff_id}/messages", headers={**li, "Content-Type": "application/json"}, content=body)
    else:
        response = client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json=body)
    assert response.status_code == 422
    assert needle in response.json()["detail"]
    assert all(events == [{"event": "pause"}] for _, _, events in rasa.appended())


def test_unknown_status_and_unknown_handoff_are_client_errors(client) -> None:
    li = login(client, "li")
    assert client.get("/api/handoffs?status=lost", headers=li).status_code == 422
    assert client.post("/api/handoffs/999/claim", headers=li).status_code == 404
    assert client.post("/api/handoffs/abc/claim", headers=li).status_code == 422


def test_when_rasa_is_down_the_reply_fails_visibly_and_nothing_changes(client, database, rasa) -> None:
    handoff_id = add_handoff(database, "p")
    li = login(client, "li")
    client.post(f"/api/handoffs/{handoff_id}/claim", headers=li)
    rasa.down = True
    assert client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "在吗"}).status_code == 502
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=li).status_code == 502
    assert client.get(f"/api/handoffs/{handoff_id}", headers=li).json()["status"] == "active"


def test_a_claim_that_cannot_pause_the_bot_leaves_the_conversation_waiting(client, database, rasa) -> None:
    handoff_id = add_handoff(database, "p")
    li = login(client, "li")
    rasa.down = True
    response = client.post(f"/api/handoffs/{handoff_id}/claim", headers=li)
    assert response.status_code == 502 and "暂停" in response.json()["detail"]
    rasa.down = False
    assert client.get(f"/api/handoffs/{handoff_id}", headers=li).json()["status"] == "waiting"
    assert client.post(f"/api/handoffs/{handoff_id}/claim", headers=li).status_code == 200


def test_the_transcript_tells_patient_bot_and_staff_apart(client, rasa) -> None:
    rasa.events["c1"] = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "user", "text": "转人工", "timestamp": 2.0},
        {"event": "bot", "text": "已为您转接人工客服。", "timestamp": 3.0},
        {"event": "pause", "timestamp": 3.5},
        {"event": "user", "text": "<b>还在吗</b>", "timestamp": 4.0},
        {"event": "bot", "text": "您好，我是李护士", "metadata": {"staff": "li"}, "timestamp": 5.0},
    ]
    lines = client.get("/api/conversations/c1", headers=login(client, "li")).json()
    assert [(line["role"], line["text"]) for line in lines] == [
        ("patient", "转人工"),
        ("bot", "已为您转接人工客服。"),
        ("patient", "<b>还在吗</b>"),
        ("staff", "您好，我是李护士"),
    ]
    assert lines[0]["time"].startswith("1970-01-01T00:00:02")


def test_tickets_are_listed_shown_with_history_and_updated(client, database) -> None:
    with session_scope(database) as session:
        for number, conversation in (("TK202611230001", "c1"), ("TK202611230002", "c2")):
            session.add(
                Ticket(number=number, conversation_id=conversation, kind="complaint", category="surgery",
                       severity="major", procedure="隆鼻", phone="13800138000",
                       events=[TicketEvent(actor="bot", to_status="open", note="患者登记")])
            )
    li = login(client, "li")
    listed = client.get("/api/tickets?conversation_id=c1&status=open", headers=li).json()
    assert [t["number"] for t in listed] == ["TK202611230001"]
    assert client.get("/api/tickets?status=bogus", headers=li).status_code == 422

    changed = client.patch("/api/tickets/TK202611230001", headers=li, json={"status": "in_progress", "note": "已约复诊"})
    assert changed.status_code == 200, changed.text
    ticket = client.get("/api/tickets/TK202611230001", headers=li).json()
    assert ticket["status"] == "in_progress"
    assert ticket["history"][-1] | {"time": None} == {
        "time": None, "actor": "li", "from_status": "open", "to_status": "in_progress", "note": "已约复诊",
        "patient_visible": False,
    }
    shown = client.patch(
        "/api/tickets/TK202611230001", headers=li, json={"note": "12 月 3 日上午复诊", "patient_visible": True}
    )
    assert shown.json()["history"][-1]["patient_visible"] is True, "staff choose per note whether the patient sees it"
    assert client.patch("/api/tickets/TK202611230001", headers=li, json={"status": "lost"}).status_code == 422
    assert client.patch("/api/tickets/TK202611230001", headers=li, json={}).status_code == 422
    assert client.patch("/api/tickets/TK000", headers=li, json={"note": "x"}).status_code == 404


def race_to_claim(make_client: Callable[[], TestClient], url: str) -> List[int]:
    """Two staff members press 接手 on the same conversation at the same moment."""
    handoff_id = add_handoff(url, "contested")
    clients = [make_client(), make_client()]
    headers = [login(clients[0], "li"), login(clients[1], "wang")]
    barrier = threading.Barrier(2)
    codes: List[int] = [0, 0]

    def claim(i: int) -> None:
        barrier.wait()
        codes[i] = clients[i].post(f"/api/handoffs/{handoff_id}/claim", headers=headers[i]).status_code

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(codes)


def test_two_staff_claiming_at_once_on_sqlite_gives_exactly_one_winner(make_client, database) -> None:
    for _ in range(5):
        assert race_to_claim(make_client, database) == [200, 409]
        with session_scope(database) as session:
            session.query(Handoff).delete()


def test_two_staff_claiming_at_once_on_postgresql_gives_exactly_one_winner(rasa) -> None:
    with fresh_postgres_database() as url:
        prepare(url)
        config = ConsoleConfig(database_url=url, rasa_url="http://rasa.test", rasa_token="secret")
        app = create_app(config, RasaClient(config, transport=httpx.MockTransport(rasa.handle)))
        for _ in range(5):
            assert race_to_claim(lambda: TestClient(app), url) == [200, 409]
            with session_scope(url) as session:
                session.query(Handoff).delete()


def test_the_bootstrap_admin_is_created_once_on_start(tmp_path, monkeypatch, rasa) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("STAFF_BOOTSTRAP_USER", "admin")
    monkeypatch.setenv("STAFF_BOOTSTRAP_PASSWORD", PASSWORD)
    config = ConsoleConfig(database_url=url, rasa_url="http://rasa.test", rasa_token="secret")
    with TestClient(create_app(config, RasaClient(config, transport=httpx.MockTransport(rasa.handle)))) as client:
        assert client.post("/api/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    monkeypatch.setenv("STAFF_BOOTSTRAP_USER", "second")
    assert accounts.ensure_bootstrap_admin(url) is None


def test_staff_add_command_creates_an_account_that_can_log_in(tmp_path, monkeypatch, client) -> None:
    from bot.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    assert main(["staff", "add", "zhao", "--name", "赵客服"]) == 0
    assert main(["staff", "add", "zhao"]) == 1
    with session_scope(url) as session:
        zhao = accounts.authenticate(session, "zhao", PASSWORD)
        assert zhao is not None and zhao.display_name == "赵客服" and zhao.role == "agent"


def test_the_api_is_described_by_openapi(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/login", "/api/handoffs", "/api/handoffs/{handoff_id}/claim", "/api/handoffs/{handoff_id}/messages",
                 "/api/handoffs/{handoff_id}/release", "/api/conversations/{conversation_id}", "/api/tickets",
                 "/api/tickets/{number}"):
        assert path in paths, path


@pytest.fixture()
def live_console(make_client, monkeypatch) -> Iterator[str]:
    """The console under uvicorn (the live stream needs a real server), looking at the database every 50 ms."""
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    with served(make_client().app) as server:
        yield f"http://127.0.0.1:{server.config.port}"


def server_sent_events(response: httpx.Response) -> Iterator[Tuple[str, object]]:
    """(event name, data) of each event; ("", comment) for a comment line."""
    name, data = "", []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "", line[1:].strip()
        elif line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif not line and name:
            yield name, json.loads("\n".join(data))
            name, data = "", []


def test_the_live_stream_needs_a_valid_token(client) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = client.get("/api/events", headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"] == messages.text("not_logged_in")


def test_the_live_stream_pushes_new_and_escalated_handoffs_and_patient_messages(live_console, client, database) -> None:
    add_handoff(database, "already-waiting", "normal", minutes_ago=3)
    li = login(client, "li")
    with httpx.stream("GET", f"{live_console}/api/events", headers=li, timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        events = server_sent_events(response)
        assert next(events) == ("queue", {"waiting": 1, "urgent_waiting": 0, "changes": []})

        bleeding = add_handoff(database, "bleeding", "urgent")
        name, data = next(events)
        assert name == "queue" and (data["waiting"], data["urgent_waiting"]) == (2, 1)
        assert data["changes"] == [{"change": "new", "id": bleeding, "conversation_id": "bleeding", "status": "waiting",
                                    "priority": "urgent", "reason": "emergency", "assigned_to": None}]

        add_rasa_events(database, [("already-waiting", "user", utcnow().timestamp(), "report_emergency")])
        name, data = next(events)
        assert name == "queue" and data["urgent_waiting"] == 2
        assert [(c["change"], c["conversation_id"], c["priority"]) for c in data["changes"]] == [
            ("escalated", "already-waiting", "urgent")
        ]
        assert next(events)[0] == "message"

        client.post(f"/api/handoffs/{bleeding}/claim", headers=li)
        name, data = next(events)
        assert (data["waiting"], data["urgent_waiting"]) == (1, 1)
        assert [(c["change"], c["id"], c["assigned_to"]) for c in data["changes"]] == [("claimed", bleeding, "li")]


def test_the_live_stream_sends_heartbeats_and_ends_with_the_login(live_console, client, monkeypatch) -> None:
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.1)
    li = login(client, "li")
    with httpx.stream("GET", f"{live_console}/api/events", headers=li, timeout=5) as response:
        events = server_sent_events(response)
        assert next(events)[0] == "queue"
        assert next(events) == ("", "heartbeat")
        assert client.post("/api/logout", headers=li).status_code == 204
        assert [name for name, _ in events if name] == []  # the stream ended without another event


class Client:
    """The request as the live stream sees it: connected for `polls` looks at the database, then gone."""

    def __init__(self, polls: int) -> None:
        self.polls = polls

    async def is_disconnected(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def streamed(client: Client, database: str) -> List[str]:
    async def frames() -> List[str]:
        return [chunk async for chunk in live.stream(client, database, "token", Snapshot())]  # type: ignore[arg-type]

    return asyncio.run(frames())


def test_the_live_stream_stops_when_the_client_leaves(database) -> None:
    assert streamed(Client(polls=0), database) == [live.frame(queue_event(Snapshot()))]


def test_the_live_stream_outlasts_a_database_outage(database, monkeypatch) -> None:
    monkeypatch.setattr(live, "POLL_SECONDS", 0)
    opened = HandoffState(1, "c1", "waiting", "urgent", "emergency", None)
    answers = iter([OperationalError("SELECT", {}, Exception("connection refused")), Snapshot({1: opened})])

    def snapshot(_url: str) -> Snapshot:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(live, "current_snapshot", snapshot)
    _, *later = streamed(Client(polls=2), database)
    assert [json.loads(frame.split("data: ")[1])["changes"][0]["change"] for frame in later] == ["new"]
