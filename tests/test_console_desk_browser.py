"""The complaint desk (#18) in headless Chromium against the console served on loopback (a real SQLite database,
the fake Rasa of test_console_api): tests/browser/desk.mjs and reports.mjs on a desktop and a tablet viewport."""

from __future__ import annotations

import json
import os

import httpx
from sqlalchemy import select

from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store.db import session_scope
from bot.store.models import FollowUp, Ticket
from tests.conftest import ROOT, served
from bot import hospital
from tests.test_console_api import PASSWORD, FakeRasa, add_handoff, prepare
from tests.test_console_browser import run_script
from tests.test_console_desk import add_ticket, seed_report

SCRIPT = ROOT / "tests" / "browser" / "desk.mjs"
REPORTS_SCRIPT = ROOT / "tests" / "browser" / "reports.mjs"
RESULTS = ROOT / "results"
INTERNAL_NOTE = "内部：主任已看过照片，先约面诊"
PATIENT_NOTE = "已为您约好周四上午主任面诊"
CONVERSATION_NOTE = "已电话联系，患者下午来院复查"


def test_staff_find_a_major_ticket_move_it_along_send_a_canned_reply_and_note_in_a_browser(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'desk.db'}"
    prepare(database)
    add_ticket(database, "TK202611300001", severity="major", category="surgery", procedure="隆鼻",
               phone="13912345678", channel="telegram", description="隆鼻术后第三天鼻子歪了，还在流血")
    add_ticket(database, "TK202611300002", kind="refund", category="skin", phone="13700001111")
    handoff_id = add_handoff(database, "web-swollen", priority="normal")
    rasa = FakeRasa()
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    app = create_app(config, RasaClient(config, transport=httpx.MockTransport(rasa.handle)))
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, STAFF_USER="li", STAFF_PASSWORD=PASSWORD, MAJOR_TICKET="TK202611300001",
               OTHER_TICKET="TK202611300002", MAJOR_PHONE_MASKED="139****5678", INTERNAL_NOTE=INTERNAL_NOTE,
               PATIENT_NOTE=PATIENT_NOTE, HANDOFF_ID=str(handoff_id), REPLY_SEARCH="肿胀", CONVERSATION_NOTE=CONVERSATION_NOTE,
               RESULTS=str(RESULTS))
    with served(app) as server:
        env["CONSOLE_URL"] = f"http://127.0.0.1:{server.config.port}"
        seen = json.loads(run_script(SCRIPT, env)[-1])

    for viewport in ("desktop", "tablet"):
        assert sorted(seen[f"{viewport}_all"]) == ["TK202611300001", "TK202611300002"]
        assert "severity-major" in seen[f"{viewport}_major_class"]
        assert seen[f"{viewport}_major_background"] == "rgb(253, 236, 234)"
        assert seen[f"{viewport}_major_only"] == ["TK202611300001"]
        assert seen[f"{viewport}_by_phone"] == ["TK202611300001"]
        assert "q=139****5678" in seen[f"{viewport}_url"].replace("%2A", "*")
    assert seen["story"] == "隆鼻术后第三天鼻子歪了，还在流血"
    assert "major" in seen["page_class"]
    assert "处理中" in seen["heading"]
    assert any(f"内部备注：{INTERNAL_NOTE}" in line and "待处理 → 处理中" in line for line in seen["history"])
    assert any(f"备注（患者可见）：{PATIENT_NOTE}" in line for line in seen["history"])
    with session_scope(database) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "TK202611300001")).one()
        sent = [f.payload for f in session.scalars(select(FollowUp).where(FollowUp.ticket_id == ticket.id))]
    # Both changes are pushed to the patient; only the note marked for the patient is in what they are sent.
    assert len(sent) == 2 and any(PATIENT_NOTE in payload for payload in sent)
    assert not any(INTERNAL_NOTE in payload for payload in sent)

    # "/肿胀" found the swelling reply on both viewports; Enter filled the box with the on-call line filled in,
    # and "发送" sent exactly that text to the patient's conversation.
    on_call = hospital.load().on_call_line
    for viewport in ("desktop", "tablet"):
        assert seen[f"{viewport}_options"] == ["swelling"]
        assert seen[f"{viewport}_filled"].startswith("术后一到两周内有肿胀") and on_call in seen[f"{viewport}_filled"]
    sent_texts = [event.get("text") for path, _, events in rasa.appended() for event in events if "web-swollen" in path]
    assert sent_texts.count(seen["desktop_filled"]) == 2
    # The internal notes (one per viewport) are listed for staff and were never sent to the patient.
    assert seen["tablet_notes"] == [f"{CONVERSATION_NOTE}（desktop）", f"{CONVERSATION_NOTE}（tablet）"]
    assert not any(CONVERSATION_NOTE in json.dumps(events, ensure_ascii=False) for _, _, events in rasa.appended())


def test_the_reports_page_draws_every_chart_with_the_apis_figures_in_a_browser(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'reports.db'}"
    prepare(database)
    seed_report(database)
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    app = create_app(config, RasaClient(config, transport=httpx.MockTransport(FakeRasa().handle)))
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, STAFF_USER="boss", STAFF_PASSWORD=PASSWORD, FROM="2026-11-02", TO="2026-11-03",
               RESULTS=str(RESULTS))
    with served(app) as server:
        env["CONSOLE_URL"] = f"http://127.0.0.1:{server.config.port}"
        seen = json.loads(run_script(REPORTS_SCRIPT, env)[-1])
        report = httpx.post(f"{env['CONSOLE_URL']}/api/login", json={"username": "boss", "password": PASSWORD}).json()
        api = httpx.get(f"{env['CONSOLE_URL']}/api/reports/summary?from=2026-11-02&to=2026-11-03",
                        headers={"Authorization": f"Bearer {report['access_token']}"}).json()

    for viewport in ("desktop", "tablet"):
        charts = {chart["id"]: chart for chart in seen[viewport]["charts"]}
        assert len(charts) == 13 and all(chart["canvas"] for chart in charts.values())
        assert charts["daily"]["rows"] == [[d["day"], str(d["conversations"]), str(d["patient_messages"]),
                                             str(d["bot_messages"])] for d in api["days"]]
        assert charts["ticket-categories"]["rows"] == [["整形", "1"], ["皮肤", "1"], ["口腔", "1"], ["其他", "0"]]
        assert charts["handoff-waits"]["rows"][0] == ["紧急", "120", "180", "2", "2"]
        assert charts["first-response"]["rows"] == [["紧急", "60", "90", "2", "2"], ["高", "—", "—", "0", "0"],
                                                    ["普通", "300", "300", "1", "2"]]
        assert charts["ticket-days"]["rows"] == [["2026-11-02", "2", "0"], ["2026-11-03", "1", "1"]]
        assert seen[viewport]["csv"] == "\ufeff类别,工单数\r\n整形,1\r\n皮肤,1\r\n口腔,1\r\n其他,0\r\n"
        assert seen[viewport]["csvName"] == "ticket-categories_2026-11-02_2026-11-03.csv"
        # Satisfaction (seed_report): after two released handoffs scored 5 and 2, after TK1 resolved unanswered.
        assert charts["satisfaction-scores"]["rows"] == [["5 分", "1"], ["4 分", "0"], ["3 分", "0"], ["2 分", "1"], ["1 分", "0"]]
        assert charts["satisfaction-days"]["rows"] == [["2026-11-02", "2", "2", "3.5"], ["2026-11-03", "1", "0", "—"]]
        assert charts["satisfaction-sources"]["rows"] == [["人工服务后", "2", "2", "100.0%", "3.5"], ["工单解决后", "1", "0", "0.0%", "—"]]
        assert seen[viewport]["scoresCsv"] == "\ufeff评分,份数\r\n5 分,1\r\n4 分,0\r\n3 分,0\r\n2 分,1\r\n1 分,0\r\n"
        assert seen[viewport]["scoresCsvName"] == "satisfaction-scores_2026-11-02_2026-11-03.csv"
        assert [row[1] for row in charts["satisfaction-scores"]["rows"]] == [
            str(d["count"]) for d in reversed(api["satisfaction"]["distribution"])]
        totals = seen[viewport]["totals"]
        assert (totals["会话"], totals["患者消息"], totals["未能理解率"]) == ("3", "4", "25.0%")
        assert (totals["新建工单"], totals["解决工单"], totals["紧急情况"]) == ("3", "1", "2")
        assert (totals["满意度调查回复率"], totals["平均满意度"]) == ("66.7%", "3.5")
