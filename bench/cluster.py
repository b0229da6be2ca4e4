"""The 32-conversation measurement on the deployment of docs/deploy.md, scaled out on one machine.

Two Rasa instances and two action servers behind nginx, on PostgreSQL and Redis: the deployment that
tests/test_cluster.py checks for correctness (it is built by the same code, `tests.cluster.Cluster`),
here measured for throughput. One Rasa process serves a turn on one core; this shows what a second
instance buys when the machine has a second core, and what each process spends per message.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Union

import pytest

from bench.run import cpu_per_message, full_turns
from tests.cluster import Cluster, prepare_database
from tests.services import fresh_postgres_database, redis_url

Figures = Dict[str, Union[str, float, Dict[str, float]]]


def measure(turns: int) -> Figures:
    """32 concurrent conversations through nginx's internal server; or why it could not run."""
    try:
        with ExitStack() as resources, tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            database_url = resources.enter_context(fresh_postgres_database())
            prepare_database(database_url)
            cluster = Cluster(Path(tmp), database_url, redis_url())
            resources.callback(cluster.close)
            cluster.start()
            asyncio.run(full_turns(cluster.internal_url, 8, 2))  # warm-up of both instances
            # nginx's own CPU is in its worker processes, not measured here.
            pids = {name: s.proc.pid for name, s in cluster.services.items() if s.proc and name != "nginx"}
            figures, cpu = cpu_per_message(pids, lambda: asyncio.run(full_turns(cluster.internal_url, 32, turns)))
            return {"full_turn_32_concurrent": figures, "cpu_ms_per_message_32": cpu}
    except (pytest.skip.Exception, pytest.fail.Exception) as unavailable:
        return {"not_measured": str(unavailable)}
