"""Written reports for management (#18, seed 003): the weekly summary and the report on a major-urgent complaint,
from the same seeded database as the console's reports."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sqlalchemy import select, text

from bot.__main__ import main
from bot.management import incident, weekly
from bot.store.db import session_scope
from bot.store.models import ConversationNote, Handoff, Staff, Ticket, TicketEvent
from tests.test_console_api import database, prepare  # noqa: F401 - fixtures
from tests.test_console_desk import at, seed_report

NOW = datetime(2026, 11, 10, 4, 0, tzinfo=timezone.utc)


def test_the_weekly_summary_has_the_weeks_figures_beside_the_week_before_and_every_major_complaint(database) -> None:  # noqa: F811
    seed_report(database)
    with session_scope(database) as session:
        markdown = weekly.render(session, date(2026, 11, 2), now=NOW)
    assert markdown.startswith("# 客服周报：2026 年第 45 周（2026-11-02 至 2026-11-08）")
    # The week before holds one conversation and one ticket of 1 November.
    assert "| 会话 | 3 | 1 |" in markdown and "| 未能理解率 | 25.0% | 0.0% |" in markdown
    assert "| 紧急情况接手时长（中位数 / P90） | 2 分钟 / 3 分钟 | — / — |" in markdown
    assert "| 新建工单 | 3 | 1 |" in markdown and "| 解决工单 | 1 | 0 |" in markdown
    assert "| 工单解决时长（中位数 / P90） | 24.0 小时 / 24.0 小时 | — / — |" in markdown
    # Seed 003's four categories by severity: TK1 is the major surgery complaint.
    assert "| 整形 | 0 | 1 | 1 |" in markdown and "| 皮肤 | 1 | 0 | 1 |" in markdown and "| 其他 | 0 | 0 | 0 |" in markdown
    assert "| 紧急 | 2 | 2 | 2 分钟 / 3 分钟 | 2 | 60 秒 / 90 秒 |" in markdown
    assert "- TK1 · 整形 · 隆鼻 · 已解决 · 登记于 2026-11-02 09:00" in markdown
    assert "python -m bot report incident" in markdown
    # TK2 and TK3 are still open a week later, past their first step's time limit.
    overdue = markdown.split("## 当前超时的工单")[1].split("##")[0]
    assert "- TK2 · 退款 · 待处理 · 应于 2026-11-04 00:00 前完成" in overdue and "- TK3 · 投诉 · 待处理" in overdue
    assert "TK1" not in overdue
    # Satisfaction: two questions after handoffs scored 5 and 2, one after TK1 unanswered; the week before one scored 1.
    assert "| 满意度调查回复率 | 66.7% | 100.0% |" in markdown and "| 平均满意度（1–5 分） | 3.50 | 1.00 |" in markdown
    satisfaction = markdown.split("## 满意度")[1].split("##")[0]
    assert "| 人工服务后 | 2 | 2 | 100.0% | 3.50 |" in satisfaction and "| 工单解决后 | 1 | 0 | 0.0% | — |" in satisfaction
    assert "| 合计 | 3 | 2 | 66.7% | 3.50 |" in satisfaction
    assert "评分分布：5 分 1 份、4 分 0 份、3 分 0 份、2 分 1 份、1 分 0 份。" in satisfaction
    with session_scope(database) as session:
        quiet = weekly.render(session, date(2026, 10, 19), now=NOW)
    assert "本周没有重大紧急投诉。" in quiet and "本周没有发出满意度调查。" in quiet and "| 会话 | 0 | 0 |" in quiet and "| 未能理解率 | — | — |" in quiet


def test_the_commands_write_the_reports_and_refuse_a_bad_week_or_an_unknown_ticket(database, tmp_path, monkeypatch, capsys) -> None:  # noqa: F811
    seed_report(database)
    monkeypatch.setenv("DATABASE_URL", database)
    out = tmp_path / "week.md"
    assert main(["report", "weekly", "--week", "2026-W45", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# 客服周报：2026 年第 45 周")
    assert main(["report", "weekly", "--week", "2026-45"]) == 2
    assert main(["report", "weekly", "--week", "2026-W54"]) == 2
    assert "ISO week" in capsys.readouterr().err
    assert main(["report", "incident", "tk1"]) == 0
    assert capsys.readouterr().out.startswith("# 重大紧急投诉专题报告：TK1")
    assert main(["report", "incident", "TK404"]) == 1
    assert "no ticket" in capsys.readouterr().err


def test_the_incident_report_has_the_facts_a_timeline_an_excerpt_and_the_actions_with_phones_masked(database) -> None:  # noqa: F811
    seed_report(database)
    with session_scope(database) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "TK1")).one()
        ticket.description = "隆鼻后鼻子歪了，联系我 13912345678"
        ticket.phone = "13912345678"
        ticket.events.append(TicketEvent(actor="li", note="已安排主诊医生面诊，主管陪同", created_at=at(2, 12)))
        li = session.scalars(select(Staff).where(Staff.username == "li")).one()
        session.add(Handoff(conversation_id="c-TK1", channel="socketio", reason="anger", priority="high", status="closed",
                            staff=li, created_at=at(2, 9, 5), claimed_at=at(2, 9, 6), first_reply_at=at(2, 9, 7),
                            closed_at=at(2, 11)))
        session.add(ConversationNote(conversation_id="c-TK1", staff_id=li.id, text="患者要求退款", created_at=at(2, 9, 30)))
        session.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :k, :t, :d)"), [
            {"s": "c-TK1", "k": kind, "t": moment.timestamp(),
             "d": json.dumps({"event": kind, "text": words, "timestamp": moment.timestamp()}, ensure_ascii=False)}
            for kind, words, moment in (("user", "我的鼻子歪了，电话13912345678", at(2, 8, 58)), ("bot", "很抱歉，已为您转人工", at(2, 8, 59)))
        ])
    with session_scope(database) as session:
        report = incident.render(session, "TK1", now=NOW)
    assert report.startswith("# 重大紧急投诉专题报告：TK1") and "不是重大紧急投诉" not in report
    assert "13912345678" not in report and "139****5678" in report
    assert "| 严重程度 | 重大紧急 |" in report and "| 项目 | 隆鼻 |" in report
    assert "> 隆鼻后鼻子歪了，联系我 139****5678" in report
    timeline = report.split("## 时间线")[1].split("##")[0]
    events = [line.split(" | ")[1].rstrip(" |") for line in timeline.splitlines() if line.startswith("| 2026")]
    assert events == ["机器人登记工单（投诉，重大紧急）", "转人工：情绪激动/投诉升级，优先级 高", "李护士 接手会话",
                      "工作人员首次回复患者", "李护士 会话备注：患者要求退款", "人工服务结束，交还机器人",
                      "li 内部备注：已安排主诊医生面诊，主管陪同", "li 将状态由“待处理”改为“已解决”",
                      "发送给患者：满意度调查（已发送）"]
    assert "- 2026-11-02 08:58 患者：我的鼻子歪了，电话139****5678" in report
    assert "- 2026-11-02 08:59 机器人：很抱歉，已为您转人工" in report
    assert "- 2026-11-03 09:00 li：待处理 → 已解决" in report
    assert "- 原因分析：" in report
    with session_scope(database) as session:
        other = incident.render(session, "TK2", now=NOW)
    assert "不是重大紧急投诉" in other and "还没有工作人员的处理记录。" in other and "（数据库中没有这段对话的记录）" in other
