"""`python -m bot run`: start Rasa, the action server, the console (uvicorn) and the follow-up scheduler together.

Each process gets the settings of CONTRACT.md §2 through its environment. Ctrl-C
(SIGINT) or SIGTERM stops every child; if one child dies, the others are stopped
too, so a half-running system never pretends to be healthy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List

from bot import logging_filter, policies, service_texts, settings
from bot.store import migrate

MODEL_PATH = settings.PROJECT_ROOT / "models" / "current.tar.gz"
READY_TIMEOUT_SECONDS = 180


def child_environment(cfg: settings.Settings) -> Dict[str, str]:
    """The environment every child process shares: resolved defaults made explicit."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=cfg.database_url,
        RASA_PORT=str(cfg.rasa_port),
        ACTIONS_PORT=str(cfg.actions_port),
        CONSOLE_PORT=str(cfg.console_port),
        RASA_TOKEN=settings.rasa_token(),
        SANIC_HOST=cfg.host,
        PYTHONPATH=str(settings.PROJECT_ROOT),
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def commands(cfg: settings.Settings, model: Path = MODEL_PATH) -> Dict[str, List[str]]:
    python = sys.executable
    return {
        "actions": [python, "-m", "bot.action_server", "--actions", "actions", "--port", str(cfg.actions_port)],
        # `rasa run --enable-api` with the token from RASA_TOKEN, so it never shows in `ps` (bot/rasa_runtime.py).
        "rasa": [
            python, "-m", "bot.rasa_runtime",
            "--interface", cfg.host, "--port", str(cfg.rasa_port),
            "--model", str(model),
            # No `--cors`: no other site's page may call Rasa's HTTP API or REST channel; the widget's Socket.IO
            # channel admits the pages of ALLOWED_ORIGINS itself (bot/channels/socketio.py).
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
        ],
        "console": [
            python, "-m", "uvicorn", "--factory", "bot.console.app:create_app",
            "--host", cfg.host, "--port", str(cfg.console_port), "--no-access-log",
            # The console needs no WebSockets, and uvicorn's support needs a newer websockets than Rasa pins.
            "--ws", "none",
            # Stopping waits for open responses; the live queue's streams (GET /api/events) never end by
            # themselves, so after this many seconds they are cut and the browsers reconnect.
            "--timeout-graceful-shutdown", "10",
        ],
        # Sends the due follow-ups (docs/followups.md); any number may run, each follow-up goes out once.
        "followups": [python, "-m", "bot", "followups", "serve"],
    }


def _wait_until_ready(url: str, procs: Dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_SECONDS} s")


def _demo_body() -> str:
    return json.dumps({"sender": "demo", "message": service_texts.text("demo_message")}, ensure_ascii=False)


def _telegram_line(cfg: settings.Settings) -> str:
    if not os.environ.get("TELEGRAM_TOKEN", "").strip():
        return "  Telegram: off (set TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET to enable it)\n"
    return (
        f"  Telegram webhook: {cfg.rasa_url}/webhooks/telegram/webhook "
        "(publish it over HTTPS, then: python -m bot telegram set-webhook https://…/webhooks/telegram/webhook)\n"
    )


def _wechat_line(cfg: settings.Settings) -> str:
    if not os.environ.get("WECHAT_TOKEN", "").strip():
        return "  WeChat: off (set WECHAT_TOKEN, WECHAT_APP_ID and WECHAT_APP_SECRET to enable it; docs/wechat.md)\n"
    return (
        f"  WeChat webhook: {cfg.rasa_url}/webhooks/wechat/webhook "
        "(publish it over HTTPS as the Official Account's 服务器地址(URL); docs/wechat.md)\n"
    )


def _stop(procs: Dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def run() -> int:
    logging_filter.install()
    if not MODEL_PATH.exists():
        print(f"No trained model at {MODEL_PATH}; run 'make run' (it trains first).", file=sys.stderr)
        return 1
    cfg = settings.load()
    migrate.upgrade(cfg.database_url)
    try:
        print(policies.load(cfg.database_url), flush=True)
    except policies.PolicyFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    env = child_environment(cfg)
    procs: Dict[str, subprocess.Popen] = {}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for name, argv in commands(cfg).items():
            procs[name] = subprocess.Popen(argv, cwd=settings.PROJECT_ROOT, env=env)
        _wait_until_ready(f"{cfg.rasa_url}/", procs)
        _wait_until_ready(f"{cfg.console_url}/health", procs)
        print(
            "\nThe assistant is running:\n"
            f"  REST:    curl -s {cfg.rasa_url}/webhooks/rest/webhook "
            f"-d '{_demo_body()}'\n"
            f"  Rasa HTTP API: {cfg.rasa_url} (token in RASA_TOKEN or var/rasa_token)\n"
            f"  Demo hospital page with the patient chat widget: {cfg.console_url}/\n"
            f"  Staff console: {cfg.console_url}/console\n"
            f"{_telegram_line(cfg)}"
            f"{_wechat_line(cfg)}"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} stopped (exit code {proc.returncode}); stopping the rest.", file=sys.stderr)
                    return proc.returncode or 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        _stop(procs)
