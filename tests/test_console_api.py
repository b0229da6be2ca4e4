"""The staff API (CONTRACT.md §6) with FastAPI's TestClient, a real database and a recording fake of Rasa."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Callable, Dict, Iterator, List

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot import staff as accounts
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent, utcnow
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
        accounts.create_staff(session, "boss", PASSWORD, "主管", is_admin=True)


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


def test_every_api_call_but_login_needs_a_valid_token(client) -> None:
    routes = [(r.path, m) for r in client.app.routes for m in getattr(r, "methods", ()) if r.path.startswith("/api/")]
    protected = [(p, m) for p, m in routes if p != "/api/login"]
    assert len(protected) >= 9
    for path, method in protected:
        concrete = path.replace("{handoff_id}", "1").replace("{conversation_id:path}", "c").replace("{number}", "T1")
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
    with session_scope(database) as session:  # Rasa's tracker store table, as Rasa creates it
        session.execute(text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
            " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
        ))
        now = utcnow().timestamp()
        session.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, intent_name) VALUES (:s, 'user', :t, :i)"),
            [
                {"s": "waiting", "t": now - 60, "i": "report_emergency"},
                {"s": "earlier-flag", "t": now - 3600, "i": "report_emergency"},
                {"s": "angry", "t": now - 30, "i": "express_anger"},
            ],
        )
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
    assert reply_params == {"token": "secret", "output_channel": "socketio", "execute_side_effects": "true"}
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
        "time": None, "actor": "li", "from_status": "open", "to_status": "in_progress", "note": "已约复诊"
    }
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
        assert zhao is not None and zhao.display_name == "赵客服" and not zhao.is_admin


def test_the_api_is_described_by_openapi(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/login", "/api/handoffs", "/api/handoffs/{handoff_id}/claim", "/api/handoffs/{handoff_id}/messages",
                 "/api/handoffs/{handoff_id}/release", "/api/conversations/{conversation_id}", "/api/tickets",
                 "/api/tickets/{number}"):
        assert path in paths, path
