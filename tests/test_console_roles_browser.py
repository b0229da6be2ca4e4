"""Least privilege in the console (#14) in headless Chromium against the console on loopback (a real SQLite
database, the fake Rasa of test_console_api): tests/browser/roles.mjs."""

from __future__ import annotations

import json
import os

import httpx

from bot import staff as accounts
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.roles import Role
from bot.store.db import session_scope
from tests.conftest import ROOT, served
from tests.test_console_api import PASSWORD, FakeRasa, prepare
from tests.test_console_browser import run_script
from tests.test_console_desk import add_ticket

SCRIPT = ROOT / "tests" / "browser" / "roles.mjs"
RESULTS = ROOT / "results"
TICKET = "TK202612070001"
PHONE = "13912345678"


def test_each_role_sees_its_own_console_and_a_phone_reveal_reaches_the_audit_page(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'roles.db'}"
    prepare(database)
    add_ticket(database, TICKET, phone=PHONE, description="鼻子歪了")
    with session_scope(database) as session:
        for username, role in (("trainer", Role.TRAINER), ("agent", Role.AGENT), ("supervisor", Role.SUPERVISOR),
                               ("admin", Role.ADMIN), ("newcomer", Role.AGENT)):
            accounts.create_staff(session, username, PASSWORD, role=role)
        one_time = accounts.reset_password(session, "newcomer")
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    app = create_app(config, RasaClient(config, transport=httpx.MockTransport(FakeRasa().handle)))
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, PASSWORD=PASSWORD, TICKET=TICKET, PHONE=PHONE, ONE_TIME_USER="newcomer",
               ONE_TIME_PASSWORD=one_time, NEW_PASSWORD="my very own password", RESULTS=str(RESULTS))
    with served(app) as server:
        env["CONSOLE_URL"] = f"http://127.0.0.1:{server.config.port}"
        seen = json.loads(run_script(SCRIPT, env)[-1])

    assert seen["trainerNav"] == ["/console/nlu"]
    assert seen["agentNav"] == ["/console/tickets"]
    assert seen["agentPhone"] == "139****5678" and seen["agentRevealButtons"] == 0
    assert seen["supervisorNav"] == ["/console/tickets", "/console/reports"]
    assert seen["supervisorPhone"] == PHONE
    assert seen["adminNav"] == ["/console/tickets", "/console/reports", "/console/nlu", "/console/audit"]
    assert any("supervisor" in row and "查看完整手机号" in row and TICKET in row for row in seen["auditRows"])
    assert any("agent" in row and "查看工单" in row for row in seen["auditRows"])
    assert seen["loginFormHidden"] is True and "newcomer" in seen["newcomerWho"]
    with session_scope(database) as session:
        assert accounts.authenticate(session, "newcomer", "my very own password") is not None
