"""The whole system as a patient meets it: `python -m bot run`, then the REST channel."""

from __future__ import annotations

import socket
import uuid

from tests.conftest import RunningSystem


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


def test_ctrl_c_stops_every_process(tmp_path) -> None:
    running = RunningSystem(tmp_path)
    running.wait_ready()
    assert port_is_open(running.rasa_port) and port_is_open(running.actions_port)
    assert running.stop() == 0
    assert not port_is_open(running.rasa_port)
    assert not port_is_open(running.actions_port)
