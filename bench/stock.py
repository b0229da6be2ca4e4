"""Stock Rasa 3.6 beside ours (issue #19): the `rasa init` moodbot on Rasa's own SQL tracker store.

`ensure_model()` creates var/stock-moodbot with `rasa init --no-prompt`, which also trains its model,
the first time only; later runs reuse that model. `StockRasa` serves it like bench.run.Stack serves
ours (private port, REST channel, the HTTP API behind a token), without an action server (the moodbot
has no custom actions), with Rasa's `SQLTrackerStore` on a private SQLite file or on a PostgreSQL
database, so bench/length.py drives both with the same script and the same shape of conversation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict

import yaml
from sqlalchemy.engine import make_url

from bench.run import ROOT, Stack, free_port

PROJECT = ROOT / "var" / "stock-moodbot"
# The moodbot understands English only: bench.run.CONVERSATION's Chinese gets no answer from it at all
# (each falls back to an empty reply), so it gets the same shape of five turns in its own words, each answered.
MOODBOT_CONVERSATION = ["hello", "I am sad", "yes", "are you a bot?", "bye"]


def _environment() -> Dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    env.pop("PYTHONPATH", None)  # stock Rasa: none of this project's modules
    return env


def ensure_model() -> Path:
    """The moodbot's trained model, made by `rasa init --no-prompt` when var/stock-moodbot has none."""
    models = sorted((PROJECT / "models").glob("*.tar.gz"))
    if models:
        return models[-1]
    shutil.rmtree(PROJECT, ignore_errors=True)  # what an interrupted init left
    PROJECT.mkdir(parents=True)
    with open(PROJECT.parent / "stock-moodbot-init.log", "w") as log:
        subprocess.run(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(PROJECT)],
            cwd=PROJECT, env=_environment(), stdout=log, stderr=subprocess.STDOUT, check=True,
        )
    models = sorted((PROJECT / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError(f"rasa init trained no model; see {PROJECT.parent / 'stock-moodbot-init.log'}")
    return models[-1]


def tracker_store(database_url: str) -> Dict[str, object]:
    """endpoints.yml's `tracker_store` for Rasa's SQLTrackerStore on `database_url` (SQLite or PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": url.database}
    return {
        "type": "SQL", "dialect": "postgresql", "url": url.host or "127.0.0.1", "port": url.port or 5432,
        "db": url.database, "username": url.username or "", "password": url.password or "",
    }


class StockRasa(Stack):
    """`rasa run` of the moodbot on private ports; readiness, processes and stop as in Stack."""

    conversation = MOODBOT_CONVERSATION

    def __init__(self, workdir: Path, database_url: str) -> None:
        model = ensure_model()
        self.rasa_port = free_port()
        self.token = uuid.uuid4().hex
        endpoints = workdir / "stock-endpoints.yml"
        endpoints.write_text(yaml.safe_dump({"tracker_store": tracker_store(database_url)}))
        self.log_path = workdir / "stock.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rasa", "run", "--model", str(model), "--endpoints", str(endpoints),
             "--credentials", str(PROJECT / "credentials.yml"), "--interface", "127.0.0.1",
             "--port", str(self.rasa_port), "--enable-api", "--auth-token", self.token],
            cwd=PROJECT, env=_environment(), stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"

    def processes(self) -> Dict[str, int]:
        return {"rasa": self.proc.pid}
