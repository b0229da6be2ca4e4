"""How fast does an emergency reach the staff? (issue #18)

Serves the console on loopback with a private SQLite database, opens the queue page in two staff browsers
(Debian's Chromium: a desktop and a tablet viewport, bench/push_latency.mjs) and, `--trials` times, opens an
urgent handoff exactly as the action server does when a patient reports a red flag (`bot.handoffs.request_handoff`
with the intent `report_emergency`). Measured: from the moment that call has committed the handoff to the moment
its row is in each page (server-sent events: the stream looks at the database every second, then the page
loads the queue). Rasa's own turn (understanding the message, running the action) comes before and is not in
this figure; bench/results.md has the turn latency.

    .venv/bin/python -m bench.push_latency [--trials 20]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from bot import handoffs, hospital, staff
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.store import migrate
from bot.store.db import session_scope
from tests.conftest import ROOT, served
from tests.test_console_browser import run_script

SCRIPT = ROOT / "bench" / "push_latency.mjs"
PASSWORD = secrets.token_urlsafe(16)  # throwaway staff accounts of a temporary database


def measure(trials: int) -> Dict[str, List[float]]:
    """Milliseconds from the committed handoff to its row, per browser."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'push.db'}"
        migrate.upgrade(url)
        with session_scope(url) as session:
            staff.create_staff(session, "li", PASSWORD, "李护士")
            staff.create_staff(session, "wang", PASSWORD, "王医生")
        # The queue pages never call Rasa.
        app = create_app(ConsoleConfig(database_url=url, rasa_url="http://127.0.0.1:9", rasa_token="bench-token-0123456789"))
        committed: Dict[str, float] = {}

        def opener(conversation_id: str):  # type: ignore[no-untyped-def]
            def open_handoff() -> None:
                handoffs.request_handoff(hospital.load(), conversation_id, "socketio", "report_emergency", database_url=url)
                committed[conversation_id] = time.time() * 1000

            return open_handoff

        signals = {f"open bench-{n}": opener(f"bench-{n}") for n in range(trials)}
        with served(app) as server:
            env = dict(os.environ, CONSOLE_URL=f"http://127.0.0.1:{server.config.port}", STAFF_PASSWORD=PASSWORD,
                       TRIALS=str(trials))
            seen = json.loads(run_script(SCRIPT, env, signals)[-1])
    return {
        name: [seen[cid][name] - committed[cid] for cid in sorted(committed)]
        for name in ("li", "wang")
    }


def describe(values: List[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]
    return f"median {statistics.median(ordered):.0f} ms, p90 {p90:.0f} ms, max {ordered[-1]:.0f} ms (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    latencies = measure(parser.parse_args().trials)
    both = [max(pair) for pair in zip(latencies["li"], latencies["wang"])]
    print(f"desktop browser (li): {describe(latencies['li'])}")
    print(f"tablet browser (wang): {describe(latencies['wang'])}")
    print(f"in both browsers: {describe(both)}")


if __name__ == "__main__":
    main()
