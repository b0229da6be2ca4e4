"""Assignment, the patient's other conversations beside a transcript and major-urgent ticket alerts (#18) with two staff browsers (tests/browser/assign.mjs) against the
console served on loopback (a real SQLite database, the fake Rasa of test_console_api)."""

from __future__ import annotations

import json
import os

import httpx

from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store.models import utcnow
from tests.conftest import ROOT, served
from tests.test_console_api import PASSWORD, FakeRasa, add_handoff, prepare
from tests.test_console_browser import run_script
from tests.test_console_desk import add_ticket

SCRIPT = ROOT / "tests" / "browser" / "assign.mjs"
RESULTS = ROOT / "results"
MAJOR_ALERT = "重大紧急投诉：有新的重大紧急工单，请立即处理"


def test_a_conversation_and_a_ticket_go_to_a_colleague_and_a_major_ticket_alerts_both_browsers(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'assign.db'}"
    prepare(database)
    handoff_id = add_handoff(database, "web-transfer")
    add_ticket(database, "TK202612070001", kind="refund", conversation_id="web-transfer", phone="13912345678")
    add_ticket(database, "TK202611010001", kind="postop", conversation_id="web-earlier", phone="13912345678")
    add_ticket(database, "TK202611010002", kind="postop")
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    app = create_app(config, RasaClient(config, transport=httpx.MockTransport(FakeRasa().handle)))
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, STAFF_PASSWORD=PASSWORD, HANDOFF_ID=str(handoff_id), TICKET="TK202612070001",
               MAJOR_TICKET="TK202612070009",
               EARLIER_TICKET="TK202611010001", RESULTS=str(RESULTS))

    def open_major() -> None:
        add_ticket(database, "TK202612070009", created_at=utcnow(), severity="major", category="surgery", procedure="隆鼻")

    with served(app) as server:
        env["CONSOLE_URL"] = f"http://127.0.0.1:{server.config.port}"
        seen = json.loads(run_script(SCRIPT, env, {"open-major": open_major})[-1])

    assert seen["li_reply_disabled"] and seen["li_transfer_hidden"]  # li no longer holds it
    assert "web-transfer" in seen["wang_transfer_notice"] and seen["wang_may_reply"]
    assert seen["history_conversations"] == [["web-transfer", "本会话"], ["web-earlier", "同一手机号的工单"]]
    assert len(seen["history_tickets"]) == 1 and "TK202611010001" in seen["history_tickets"][0]
    assert seen["conversation_tags"] == ["医疗纠纷风险"]
    assert seen["li_by_tag"] == ["TK202612070001"] and seen["li_tag_filter"] == "退款" and seen["li_row_tags"] == "退款"
    assert seen["wang_mine"] == ["TK202612070001"] and seen["wang_assignee_cell"] == "王医生"
    assert "TK202612070001" in seen["wang_assigned_notice"]
    for name in ("li", "wang"):
        assert "alert" in seen[f"{name}_major_class"] and "severity-major" in seen[f"{name}_major_class"]
        assert [(n["title"], n["tag"]) for n in seen[f"{name}_notifications"]] == [(MAJOR_ALERT, "ticket-TK202612070009")]
        assert seen[f"{name}_tones"] == 3
        assert "TK202612070009" in seen[f"{name}_notice"]
