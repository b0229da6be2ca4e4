"""Faults a patient must not notice as silence or loss: the action server down or hanging, the
database unreachable for several seconds in the middle of a turn.

One stack for the module, started from the launcher's own `commands()`: PostgreSQL (a fresh
database) behind two cuttable proxies (tests/db_proxy.py), one for Rasa and one for the action
server, and the action server behind a third proxy for Rasa, so each can disappear without
stopping anything. Rasa waits `ACTION_TIMEOUT_SECONDS` (default 10 s) for an action.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest
from sqlalchemy import create_engine, text

from bot import hospital, launcher, policies, settings
from bot.store import db, migrate
from tests.conftest import MODEL, ROOT, free_port, post_json
from tests.db_proxy import TcpProxy
from tests.services import fresh_postgres_database

ACTION_TIMEOUT_SECONDS = 10  # bot.rasa_runtime's default
OUTAGE_SECONDS = 6
PHONE = "13812345678"
APOLOGY = "系统刚才出了点问题"


class FaultStack:
    """Rasa and the action server on PostgreSQL, each reachable only through a proxy the test controls."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.database_url = database_url
        port = int(database_url.split("@127.0.0.1:")[1].split("/")[0])
        self.rasa_db, self.actions_db = TcpProxy(port).start(), TcpProxy(port).start()
        migrate.upgrade(database_url)
        policies.load(database_url)
        actions_port, rasa_port = free_port(), free_port()
        self.action_proxy = TcpProxy(actions_port).start()
        self.rasa_url = f"http://127.0.0.1:{rasa_port}"
        self.token = f"fault-token-{rasa_port}"
        cfg = settings.Settings(database_url, None, "127.0.0.1", rasa_port, actions_port, free_port())
        env = dict(launcher.child_environment(cfg), RASA_TOKEN=self.token)
        argv = launcher.commands(cfg, MODEL)
        self.log_files = {name: tmp / f"{name}.log" for name in ("actions", "rasa")}
        self.logs = {name: open(path, "w") for name, path in self.log_files.items()}
        self.procs = {
            "actions": subprocess.Popen(
                argv["actions"], cwd=ROOT, env=dict(env, DATABASE_URL=self.through(self.actions_db)),
                stdout=self.logs["actions"], stderr=subprocess.STDOUT,
            ),
            # Rasa reaches the action server only through its proxy.
            "rasa": subprocess.Popen(
                argv["rasa"], cwd=ROOT,
                env=dict(env, DATABASE_URL=self.through(self.rasa_db), ACTIONS_PORT=str(self.action_proxy.port)),
                stdout=self.logs["rasa"], stderr=subprocess.STDOUT,
            ),
        }

    def through(self, proxy: TcpProxy) -> str:
        port = int(self.database_url.split("@127.0.0.1:")[1].split("/")[0])
        return self.database_url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")

    def log(self, name: str) -> str:
        self.logs[name].flush()
        return self.log_files[name].read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs[name].name}")
            try:
                with urllib.request.urlopen(f"{self.rasa_url}/status?token={self.token}", timeout=2) as r:
                    if json.loads(r.read()).get("model_file"):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError("the fault stack did not become ready")

    def say(self, sender: str, message: str) -> List[dict]:
        return post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout=120)

    def timed_say(self, sender: str, message: str) -> Tuple[List[dict], float]:
        started = time.monotonic()
        replies = self.say(sender, message)
        return replies, time.monotonic() - started

    def user_texts(self, sender: str) -> List[str]:
        """What Rasa's tracker store holds of the patient's messages (read directly, not through a proxy)."""
        engine = create_engine(self.database_url, future=True)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"), {"s": sender}
                ).scalars()
                return [json.loads(row)["text"] for row in rows]
        finally:
            engine.dispose()

    def tickets_of(self, sender: str) -> List[str]:
        engine = create_engine(self.database_url, future=True)
        try:
            with engine.connect() as conn:
                return list(
                    conn.execute(text("SELECT number FROM tickets WHERE conversation_id = :c"), {"c": sender}).scalars()
                )
        finally:
            engine.dispose()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in self.logs.values():
            log.close()
        for proxy in (self.action_proxy, self.rasa_db, self.actions_db):
            proxy.stop()
        db.engine_for(self.database_url).dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' (make test does)")
    with fresh_postgres_database() as url:
        running = FaultStack(tmp_path_factory.mktemp("faults"), url)
        try:
            running.wait_ready()
            yield running
        finally:
            running.stop()


@pytest.fixture(autouse=True)
def everything_reachable(stack: FaultStack) -> Iterator[None]:
    proxies = (stack.action_proxy, stack.rasa_db, stack.actions_db)
    for proxy in proxies:
        proxy.restore()
    yield
    for proxy in proxies:
        proxy.restore()


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def offers_a_person(replies: List[dict]) -> bool:
    return any(b.get("payload") == "/request_human" for r in replies for b in r.get("buttons") or [])


def during_outage(proxies: List[TcpProxy], seconds: float, turn: Callable[[], List[dict]]) -> List[dict]:
    """Run `turn` in the background, with `proxies` cut from just before it starts until `seconds` later."""
    result: Dict[str, object] = {}

    def run() -> None:
        try:
            result["replies"] = turn()
        except Exception as error:  # noqa: BLE001 - reported in the test's thread
            result["error"] = error

    for proxy in proxies:
        proxy.cut()
    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(seconds)
    for proxy in proxies:
        proxy.restore()
    worker.join(timeout=150)
    assert not worker.is_alive(), "the turn did not finish after the outage"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["replies"]  # type: ignore[return-value]


def test_action_server_down_gets_an_apology_and_the_offer_of_a_person_not_silence(stack: FaultStack) -> None:
    stack.action_proxy.cut()
    replies, seconds = stack.timed_say(f"p-{uuid.uuid4()}", "我想退款")
    assert APOLOGY in texts(replies) and hospital.load().hotline in texts(replies)
    assert offers_a_person(replies)
    assert seconds < 30, f"the apology took {seconds:.1f} s"


def test_a_hanging_action_server_gets_the_apology_after_the_action_timeout(stack: FaultStack) -> None:
    stack.action_proxy.stall()
    replies, seconds = stack.timed_say(f"p-{uuid.uuid4()}", "我想退款")
    assert APOLOGY in texts(replies) and offers_a_person(replies)
    assert texts(replies).count(APOLOGY) == 1
    assert ACTION_TIMEOUT_SECONDS <= seconds < 40, f"the apology took {seconds:.1f} s"


def test_an_emergency_still_gets_120_and_the_on_call_line_with_the_action_server_down(stack: FaultStack) -> None:
    stack.action_proxy.cut()
    replies = stack.say(f"p-{uuid.uuid4()}", "伤口一直流血止不住")
    answer = texts(replies)
    assert "120" in answer and hospital.load().on_call_line in answer
    assert APOLOGY in answer and offers_a_person(replies)


def test_the_conversation_goes_on_normally_once_the_action_server_is_back(stack: FaultStack) -> None:
    sender = f"p-{uuid.uuid4()}"
    stack.action_proxy.cut()
    assert APOLOGY in texts(stack.say(sender, "我想退款"))
    stack.action_proxy.restore()
    answer = texts(stack.say(sender, "我想退款"))
    assert APOLOGY not in answer and "【需要准备的材料" in answer
    assert stack.user_texts(sender) == ["我想退款", "我想退款"]


def test_a_database_outage_during_a_turn_delays_the_answer_and_loses_nothing(stack: FaultStack) -> None:
    sender = f"p-{uuid.uuid4()}"
    assert "您好" in texts(stack.say(sender, "你好"))
    replies = during_outage([stack.rasa_db, stack.actions_db], OUTAGE_SECONDS, lambda: stack.say(sender, "医院电话多少"))
    assert hospital.load().hotline in texts(replies)
    assert stack.user_texts(sender) == ["你好", "医院电话多少"]
    assert f"tracker store: retrieve {sender} failed" in stack.log("rasa")


def test_a_database_outage_while_the_ticket_is_opened_creates_exactly_one_ticket(stack: FaultStack) -> None:
    sender = f"p-{uuid.uuid4()}"
    stack.say(sender, "我想退款")
    stack.say(sender, "是")
    stack.say(sender, "双眼皮")
    stack.say(sender, "上个月15号")
    stack.say(sender, "两边眼皮一宽一窄，想退款")
    assert "138****5678" in texts(stack.say(sender, PHONE))
    # Only the action server loses the database: Rasa has read the conversation, the form is
    # complete, and the ticket's insert meets the outage.
    replies = during_outage([stack.actions_db], OUTAGE_SECONDS, lambda: stack.say(sender, "是"))
    assert "database unavailable while opening a ticket" in stack.log("actions")
    numbers = stack.tickets_of(sender)
    assert len(numbers) == 1
    assert re.search(numbers[0], texts(replies)), texts(replies)
    assert stack.user_texts(sender)[-1] == "是"
