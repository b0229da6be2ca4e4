"""Least privilege in the console (issue #14, finding 6): roles, disabled accounts, password resets."""

from __future__ import annotations

import io
from typing import Dict

import pytest
from fastapi.testclient import TestClient

from bot import staff as accounts
from bot.__main__ import main
from bot.roles import Role
from bot.store.db import session_scope
from tests.test_console_api import PASSWORD, add_handoff, login, make_client, rasa  # noqa: F401 - fixtures
from tests.test_console_api import prepare

ROLE_ACCOUNTS = {"agent": Role.AGENT, "chief": Role.SUPERVISOR, "root": Role.ADMIN, "zhao": Role.TRAINER}


@pytest.fixture()
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    prepare(url)
    with session_scope(url) as session:
        for username, role in ROLE_ACCOUNTS.items():
            accounts.create_staff(session, username, PASSWORD, role=role)
    return url


@pytest.fixture()
def client(make_client) -> TestClient:  # noqa: F811 - the fixture of tests/test_console_api.py
    return make_client()


def _status(client: TestClient, method: str, path: str, headers: Dict[str, str]) -> int:
    return client.request(method, path, headers=headers).status_code


def _api_routes(client: TestClient) -> list:
    return [
        (route.path, method)
        for route in client.app.routes
        for method in getattr(route, "methods", ())
        if route.path.startswith("/api/") and route.path not in ("/api/login", "/api/me", "/api/logout", "/api/password")
    ]


def _concrete(path: str) -> str:
    for name, value in (("{handoff_id}", "1"), ("{item_id}", "1"), ("{conversation_id:path}", "c"), ("{number}", "T1")):
        path = path.replace(name, value)
    return path


def test_a_trainer_reaches_the_nlu_inbox_and_nothing_else(client) -> None:
    zhao = login(client, "zhao")
    refused = [(p, m) for p, m in _api_routes(client) if _status(client, m, _concrete(p), zhao) == 403]
    others = [(p, m) for p, m in _api_routes(client) if (p, m) not in refused]
    assert ("/api/handoffs", "GET") in refused and ("/api/tickets/{number}", "GET") in refused
    assert ("/api/conversations/{conversation_id:path}", "GET") in refused and ("/api/reports/summary", "GET") in refused
    assert sorted(others) == [("/api/nlu/inbox", "GET"), ("/api/nlu/inbox/{item_id}", "POST"), ("/api/nlu/options", "GET")]
    assert client.get("/api/nlu/inbox", headers=zhao).status_code == 200
    detail = client.get("/api/handoffs", headers=zhao).json()["detail"]
    assert "训练员" in detail and "客服" in detail


def test_reports_are_for_supervisors_and_admins(client) -> None:
    assert client.get("/api/reports/summary", headers=login(client, "agent")).status_code == 403
    for username in ("chief", "root"):
        assert client.get("/api/reports/summary", headers=login(client, username)).status_code == 200


def test_a_supervisor_may_release_a_conversation_an_agent_holds_another_agent_may_not(client, database) -> None:
    handoff_id = add_handoff(database, "held")
    agent = login(client, "agent")
    assert client.post(f"/api/handoffs/{handoff_id}/claim", headers=agent).status_code == 200
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=login(client, "li")).status_code == 403
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=login(client, "chief")).status_code == 200


def test_me_names_the_role_and_what_it_may_do(client) -> None:
    me = client.get("/api/me", headers=login(client, "chief")).json()
    assert me["role"] == "supervisor"
    assert {"queue", "reports", "reassign", "reveal_phone"} == set(me["permissions"])
    assert "manage_staff" not in client.get("/api/me", headers=login(client, "chief")).json()["permissions"]
    assert client.get("/api/me", headers=login(client, "li")).json()["permissions"] == ["queue"]


def test_a_disabled_account_cannot_log_in_and_its_logins_stop_working(client, database, monkeypatch, capsys) -> None:
    headers = login(client, "li")
    assert client.get("/api/handoffs", headers=headers).status_code == 200
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["staff", "disable", "li"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert client.get("/api/handoffs", headers=headers).status_code == 401
    assert client.post("/api/login", json={"username": "li", "password": PASSWORD}).status_code == 401
    assert main(["staff", "disable", "nobody"]) == 1


def test_reset_prints_a_new_password_that_replaces_the_old_one(client, database, monkeypatch, capsys) -> None:
    headers = login(client, "li")
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["staff", "reset", "li"]) == 0
    new_password = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert len(new_password) >= 16 and new_password != PASSWORD
    assert client.get("/api/handoffs", headers=headers).status_code == 401  # the old login has ended
    assert client.post("/api/login", json={"username": "li", "password": PASSWORD}).status_code == 401
    assert client.post("/api/login", json={"username": "li", "password": new_password}).status_code == 200


def test_reset_takes_the_password_from_standard_input_and_enables_the_account(client, database, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["staff", "disable", "wang"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a new long password\n"))
    assert main(["staff", "reset", "wang"]) == 0
    assert "a new long password" not in capsys.readouterr().out
    assert client.post("/api/login", json={"username": "wang", "password": "a new long password"}).status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "reset", "wang"]) == 1
    assert client.post("/api/login", json={"username": "wang", "password": "a new long password"}).status_code == 200


class _Terminal(io.StringIO):
    """Standard input that is a terminal: reset then generates the password."""

    def isatty(self) -> bool:
        return True


def test_a_one_time_password_only_lets_its_holder_set_a_new_one(client, database, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["staff", "reset", "li"]) == 0
    one_time = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    login = client.post("/api/login", json={"username": "li", "password": one_time}).json()
    assert login["password_change_required"] is True
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    refused = client.get("/api/handoffs", headers=headers)
    assert refused.status_code == 403 and "新密码" in refused.json()["detail"]
    assert client.get("/api/me", headers=headers).json()["password_change_required"] is True

    change = {"current_password": one_time, "new_password": "short"}
    assert client.post("/api/password", headers=headers, json=change).status_code == 400
    change["new_password"] = one_time
    assert client.post("/api/password", headers=headers, json=change).status_code == 400
    wrong = {"current_password": "not it at all", "new_password": "my own password"}
    assert client.post("/api/password", headers=headers, json=wrong).status_code == 400
    change["new_password"] = "my own password"
    assert client.post("/api/password", headers=headers, json=change).status_code == 204
    assert client.get("/api/handoffs", headers=headers).status_code == 200
    assert client.post("/api/login", json={"username": "li", "password": one_time}).status_code == 401
    again = client.post("/api/login", json={"username": "li", "password": "my own password"}).json()
    assert again["password_change_required"] is False


def test_an_admin_manages_accounts_in_the_console_and_no_one_else_may(client) -> None:
    root = login(client, "root")
    for username in ("agent", "chief", "zhao"):
        assert client.get("/api/staff", headers=login(client, username)).status_code == 403
    listed = {a["username"]: a for a in client.get("/api/staff", headers=root).json()}
    assert listed["chief"]["role"] == "supervisor" and listed["li"]["disabled"] is False

    created = client.post("/api/staff", headers=root, json={"username": "zhou", "display_name": "周主管", "role": "supervisor"})
    assert created.status_code == 201
    first = client.post("/api/login", json={"username": "zhou", "password": created.json()["one_time_password"]}).json()
    assert first["password_change_required"] is True
    assert client.post("/api/staff", headers=root, json={"username": "zhou"}).status_code == 409
    assert client.post("/api/staff", headers=root, json={"username": "bad name!"}).status_code == 422

    li = login(client, "li")
    changed = client.patch("/api/staff/li", headers=root, json={"role": "supervisor", "disabled": True})
    assert changed.status_code == 200 and changed.json()["role"] == "supervisor" and changed.json()["disabled"] is True
    assert client.get("/api/handoffs", headers=li).status_code == 401
    assert client.patch("/api/staff/li", headers=root, json={"disabled": False}).json()["disabled"] is False
    assert client.get("/api/reports/summary", headers=login(client, "li")).status_code == 200  # now a supervisor

    reset = client.post("/api/staff/wang/reset", headers=root).json()["one_time_password"]
    assert client.post("/api/login", json={"username": "wang", "password": PASSWORD}).status_code == 401
    assert client.post("/api/login", json={"username": "wang", "password": reset}).json()["password_change_required"]

    assert client.patch("/api/staff/root", headers=root, json={"disabled": True}).status_code == 409
    assert client.patch("/api/staff/root", headers=root, json={"role": "agent"}).status_code == 409
    assert client.patch("/api/staff/nobody", headers=root, json={"disabled": True}).status_code == 404
    assert client.post("/api/staff/nobody/reset", headers=root).status_code == 404
