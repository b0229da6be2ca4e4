"""The scheduler as `python -m bot run` starts it, killed with follow-ups due and started again (twice over):
each follow-up reaches Rasa's API exactly once. Rasa is a stand-in recording what it was sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Dict, List

from fastapi import FastAPI, Request

from bot.followups import records, scheduler
from bot.store import db, migrate
from bot.store.models import utcnow
from tests.conftest import ROOT, served

COUNT = 30
# Each delivery takes this long at the stand-in, so the kill lands in the middle of the work.
RASA_SECONDS_PER_MESSAGE = 0.15


def fake_rasa() -> tuple:
    app, events, lock = FastAPI(), {}, threading.Lock()
    posted: List[int] = []

    @app.get("/conversations/{conversation_id}/tracker")
    def tracker(conversation_id: str) -> Dict:
        with lock:
            return {"events": list(events.get(conversation_id, []))}

    @app.post("/conversations/{conversation_id}/tracker/events")
    async def append(conversation_id: str, request: Request) -> Dict:
        body = await request.json()
        time.sleep(RASA_SECONDS_PER_MESSAGE)
        with lock:
            events.setdefault(conversation_id, []).extend(body)
            posted.extend(event["metadata"]["followup_id"] for event in body)
        return {"events": []}

    return app, posted


def start_scheduler(url: str, port: int, log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = dict(os.environ, DATABASE_URL=url, RASA_PORT=str(port), RASA_TOKEN="followups-restart-token", FOLLOWUP_POLL_SECONDS="0.5")
    return subprocess.Popen([sys.executable, "-m", "bot", "followups", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def sent(url: str) -> int:
    with db.session_scope(url) as session:
        return len(records.list_followups(session, status="sent"))


def test_killed_with_follow_ups_due_and_started_again_as_two_instances_each_is_sent_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    migrate.upgrade(url)
    with db.session_scope(url) as session:
        for i in range(COUNT):
            records.schedule(session, f"c-{i % 7}", "socketio", "ticket_update", utcnow() - timedelta(minutes=1), records.Message(f"第 {i} 条"))
    app, posted = fake_rasa()
    with served(app) as server, open(tmp_path / "scheduler.log", "w") as log:
        port = server.config.port
        first = start_scheduler(url, port, log)
        deadline = time.monotonic() + 90
        while len(posted) < 5:
            assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert len(posted) < COUNT, "everything was sent before the kill"
        others = [start_scheduler(url, port, log) for _ in range(2)]
        try:
            deadline = time.monotonic() + scheduler.LEASE_SECONDS + 60
            while sent(url) < COUNT:
                assert time.monotonic() < deadline, f"{sent(url)} of {COUNT} sent"
                time.sleep(0.5)
        finally:
            for proc in others:
                proc.send_signal(signal.SIGTERM)
            for proc in others:
                assert proc.wait(timeout=20) == 0
    times = Counter(posted)
    assert len(times) == COUNT and set(times.values()) == {1}, times
