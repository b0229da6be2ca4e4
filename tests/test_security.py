"""Security as an attacker on the machine or the network would probe it, on the running system
(the session's `system` stack) and on the console app with a private database.

Already covered elsewhere: an expired or revoked console token and hashed tokens
(tests/test_console_api.py), the Telegram webhook secret (tests/test_telegram.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from bot import rate_limit
from bot import staff as accounts
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Staff
from tests.conftest import (
    STAFF_PASSWORD,
    TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
    RunningSystem,
    post_json,
)

PASSWORD = "correct horse battery"
PHONE = "13812345678"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# A real Bot API token: the bot's id, a colon and 35 characters.
TELEGRAM_BOT_TOKEN = re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def status_of(method: str, url: str, body: Optional[object] = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def texts(replies: list) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


# ---------------------------------------------------------------- Rasa's HTTP API and the processes


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/conversations/{c}/tracker", None),
        ("POST", "/conversations/{c}/tracker/events", [{"event": "pause"}]),
        ("POST", "/model/parse", {"text": "我想退款"}),
        ("GET", "/status", None),
    ],
)
def test_rasa_http_api_refuses_calls_without_the_right_token(system: RunningSystem, method, path, body) -> None:
    conversation = f"p-{uuid.uuid4()}"
    system.say(conversation, "你好")
    url = system.rasa_url + path.format(c=conversation)
    assert status_of(method, url, body) == 401
    assert status_of(method, f"{url}?token=wrong-{system.token}", body) == 401
    if method == "GET":
        assert status_of(method, f"{url}?token={system.token}", body) == 200


@pytest.mark.parametrize("placeholder", ["UNSET", "<random-token>", "changeme"])
def test_a_placeholder_secret_is_refused(monkeypatch: pytest.MonkeyPatch, placeholder: str) -> None:
    from bot import settings

    for name, read in (("RASA_TOKEN", settings.rasa_token), ("ACTION_SERVER_TOKEN", settings.action_server_token)):
        monkeypatch.setenv(name, placeholder)
        with pytest.raises(ValueError, match="placeholder"):
            read()


def _command_lines() -> Dict[int, str]:
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return lines


def test_the_rasa_token_is_not_on_any_command_line(system: RunningSystem) -> None:
    """`ps` shows every process's command line to every user of the machine."""
    lines = _command_lines()
    ours = [line for line in lines.values() if "bot.rasa_runtime" in line and f"--port {system.rasa_port}" in line]
    assert len(ours) == 1, "the system's Rasa process was not found"
    assert [line for line in lines.values() if system.token in line] == []


def _listening_addresses(port: int) -> List[str]:
    """The local addresses of sockets listening on `port`, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(address)
    return found


def test_the_action_server_rasa_and_the_console_listen_on_loopback_only(system: RunningSystem) -> None:
    loopback_v4 = "0100007F"  # 127.0.0.1, little-endian hex as the kernel prints it
    for port in (system.actions_port, system.rasa_port, system.console_port):
        addresses = _listening_addresses(port)
        assert addresses and set(addresses) == {loopback_v4}, (port, addresses)


def test_the_action_server_refuses_a_call_without_rasas_secret(system: RunningSystem) -> None:
    """A crafted tracker posted to the action server would look tickets up without any limit."""
    url = f"http://127.0.0.1:{system.actions_port}/webhook"
    call = {"next_action": "action_ticket_status", "sender_id": "x", "tracker": {"sender_id": "x", "events": []},
            "domain": {}}
    assert status_of("POST", url, call) == 401
    request = urllib.request.Request(
        url, data=json.dumps(call).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer guessed"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    assert status_of("GET", f"http://127.0.0.1:{system.actions_port}/health") == 200
    # Rasa itself is let in: a whole turn runs custom actions.
    assert "退款" in texts(system.say(f"p-{uuid.uuid4()}", "我想退款"))


# ---------------------------------------------------------------- what the logs may contain


def test_logs_of_a_real_flow_hold_no_phone_number_and_no_secret(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    for message in ("我想退款", "是", "双眼皮", "上个月15号", "两边眼皮一宽一窄", PHONE, "是"):
        system.say(sender, message)
    asker = f"p-{uuid.uuid4()}"
    system.say(asker, "查询工单")
    system.say(asker, f"TK202601010001 {PHONE}")
    # A conversation named by a phone number, whose empty message the REST channel logs as refused.
    post_json(f"{system.rasa_url}/webhooks/rest/webhook", {"sender": "13912345678", "message": " "})
    system.staff_headers()
    log = system.printed("", timeout=1)
    assert "139****5678" in log, "the refused message was not logged (so the masking went untested)"
    assert MOBILE.findall(log) == []
    for secret in (system.token, STAFF_PASSWORD, TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET):
        assert secret not in log


def test_no_secret_is_committed_to_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in tracked if name.startswith("var/") or name.endswith((".pem", ".key", ".env"))]
    leaked = []
    for name in tracked:
        content = (root / name).read_text(encoding="utf-8", errors="ignore") if (root / name).is_file() else ""
        if TELEGRAM_BOT_TOKEN.search(content) or PRIVATE_KEY.search(content):
            leaked.append(name)
    assert leaked == []


# ---------------------------------------------------------------- a patient sees only their own tickets


def open_refund_ticket(system: RunningSystem) -> Tuple[str, str]:
    """A new conversation that opens a refund ticket with PHONE: the conversation and the ticket number."""
    owner = f"p-{uuid.uuid4()}"
    for message in ("我想退款", "是", "双眼皮", "上个月15号", "两边眼皮一宽一窄", PHONE):
        system.say(owner, message)
    return owner, re.search(r"TK\d{16}", texts(system.say(owner, "是"))).group(0)


def test_guessing_phones_for_a_ticket_stops_after_five_misses_and_offers_a_person(system: RunningSystem) -> None:
    owner, number = open_refund_ticket(system)

    guesser = f"p-{uuid.uuid4()}"
    for attempt in range(5):
        system.say(guesser, "查询工单")
        answer = texts(system.say(guesser, f"{number} 1390000000{attempt}"))
        assert "没有找到" in answer and number not in answer
    system.say(guesser, "查询工单")
    replies = system.say(guesser, f"{number} {PHONE}")
    assert "不能再查询" in texts(replies) and number not in texts(replies)
    assert any(b.get("payload") == "/request_human" for r in replies for b in r.get("buttons") or [])

    system.say(owner, "查询工单")
    assert number in texts(system.say(owner, f"{number} {PHONE}"))


def test_an_attacker_with_a_phone_alone_learns_nothing(system: RunningSystem) -> None:
    owner, number = open_refund_ticket(system)

    attacker = f"p-{uuid.uuid4()}"
    system.say(attacker, "查询工单")
    answer = texts(system.say(attacker, PHONE))
    assert "没有找到" in answer and number not in answer and "双眼皮" not in answer and "退款" not in answer

    system.say(owner, "查询工单")
    assert number in texts(system.say(owner, PHONE)), "the conversation that opened it sees it with the phone"


def test_a_transcript_is_only_given_to_logged_in_staff(system: RunningSystem) -> None:
    conversation = f"p-{uuid.uuid4()}"
    system.say(conversation, "我想退款")
    url = f"{system.console_url}/api/conversations/{conversation}"
    assert status_of("GET", url) == 401
    with httpx.Client() as client:
        assert client.get(url, headers={"Authorization": "Bearer guessed"}).status_code == 401
        lines = client.get(url, headers=system.staff_headers()).json()
    assert [line["text"] for line in lines if line["role"] == "patient"] == ["我想退款"]


# ---------------------------------------------------------------- console accounts and logins


@pytest.fixture()
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "li", PASSWORD, "李护士")
        accounts.create_staff(session, "wang", PASSWORD, "王护士")
    return url


def console(database: str) -> TestClient:
    """One console worker on the shared database (create it twice for two workers)."""
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    return TestClient(create_app(config, RasaClient(config, transport=transport)))


def try_login(client: TestClient, username: str, password: str) -> Tuple[int, Dict[str, str], dict]:
    response = client.post("/api/login", json={"username": username, "password": password})
    return response.status_code, dict(response.headers), response.json()


def test_passwords_are_stored_with_argon2id_at_sound_cost(database: str) -> None:
    with session_scope(database) as session:
        stored = session.query(Staff).filter_by(username="li").one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    memory_kib = int(re.search(r"m=(\d+)", stored).group(1))
    iterations = int(re.search(r"t=(\d+)", stored).group(1))
    assert memory_kib >= 19 * 1024 and iterations >= 2  # OWASP's minimum for argon2id
    assert PasswordHasher().verify(stored, PASSWORD)


def test_five_wrong_passwords_lock_the_username_on_every_worker(database: str) -> None:
    first, second = console(database), console(database)
    for worker in (first, second, first, second, first):
        assert try_login(worker, "li", "wrong password")[0] == 401
    for worker in (first, second):
        status, headers, body = try_login(worker, "li", PASSWORD)
        assert status == 429
        assert 0 < int(headers["retry-after"]) <= 15 * 60
        assert "登录失败次数过多" in body["detail"] and "分钟后再试" in body["detail"]
    assert try_login(first, "wang", PASSWORD)[0] == 200


def test_the_lock_ends_when_the_window_has_passed(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A window far longer than five slow password checks on a loaded machine; the end of the lock is
    # checked at a time given, not waited for.
    monkeypatch.setenv("LOGIN_FAILURE_WINDOW_MINUTES", "1")
    client = console(database)
    for _ in range(5):
        try_login(client, "li", "wrong password")
    status, headers, _ = try_login(client, "li", PASSWORD)
    assert status == 429 and 0 < int(headers["retry-after"]) <= 60
    with session_scope(database) as session:
        later = rate_limit.utcnow() + rate_limit.Limits.from_environment().window
        assert rate_limit.retry_after(session, "li", "testclient", now=later) == 0


def test_many_usernames_tried_from_one_address_lock_that_address(database: str) -> None:
    limits = rate_limit.Limits(per_user=5, per_client=20, window=rate_limit.Limits.from_environment().window)
    with session_scope(database) as session:
        for attempt in range(20):
            rate_limit.record_failure(session, f"guess{attempt}", "203.0.113.7", limits)
    with session_scope(database) as session:
        assert rate_limit.retry_after(session, "li", "203.0.113.7", limits) > 0
        assert rate_limit.retry_after(session, "li", "198.51.100.1", limits) == 0


def test_a_successful_login_clears_the_usernames_failures(database: str) -> None:
    client = console(database)
    for _ in range(4):
        try_login(client, "li", "wrong password")
    assert try_login(client, "li", PASSWORD)[0] == 200
    for _ in range(4):
        assert try_login(client, "li", "wrong password")[0] == 401
    assert try_login(client, "li", PASSWORD)[0] == 200
