"""The whole system as a patient meets it: `python -m bot run`, then the REST channel."""

from __future__ import annotations

import socket
import uuid

from tests.conftest import RunningSystem, post_json

MENU_QUESTION = "您想问的是下面哪一项"


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_refund_request_gets_a_chinese_answer_about_refunds(system: RunningSystem) -> None:
    answer = texts(system.say(f"p-{uuid.uuid4()}", "我想退款"))
    assert "退款" in answer


def test_bleeding_that_will_not_stop_names_120_and_the_on_call_line(system: RunningSystem) -> None:
    answer = texts(system.say(f"p-{uuid.uuid4()}", "伤口一直流血止不住"))
    assert "120" in answer
    assert "值班" in answer


def test_a_dialogue_state_the_policies_never_saw_gets_the_menu_once_then_the_bot_listens(
    system: RunningSystem,
) -> None:
    """The state an earlier release left behind: the handoff's pause, a message while paused, then the
    conversation resumed without `action_listen`. The dialogue fallback answered it with the menu ten
    times in one turn."""
    sender = f"p-{uuid.uuid4()}"
    system.say(sender, "转人工")
    assert system.say(sender, "好的谢谢") == []
    events = [{"event": "resume"}, {"event": "bot", "text": "人工客服已结束本次服务"}]
    post_json(f"{system.rasa_url}/conversations/{sender}/tracker/events?token={system.token}", events)

    replies = system.say(sender, "你好")

    assert len(replies) == 1, texts(replies)
    assert MENU_QUESTION in replies[0]["text"] or "在线助手" in replies[0]["text"]


def test_ctrl_c_stops_every_process(tmp_path) -> None:
    running = RunningSystem(tmp_path)
    running.wait_ready()
    assert port_is_open(running.rasa_port) and port_is_open(running.actions_port)
    assert running.stop() == 0
    assert not port_is_open(running.rasa_port)
    assert not port_is_open(running.actions_port)
