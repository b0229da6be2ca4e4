"""The console's login limit holds under a burst of parallel guesses (issue #14, finding 6): the check and the
count of a failed login are one step, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Iterator, List

import httpx
import pytest
from fastapi import FastAPI

from bot import rate_limit
from bot import staff as accounts
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store import migrate
from bot.store.db import session_scope
from tests.conftest import served
from tests.services import fresh_postgres_database

PASSWORD = "correct horse battery"
BURST = 40


def _prepare(url: str) -> str:
    migrate.upgrade(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "li", PASSWORD, "李护士")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield _prepare(f"sqlite:///{tmp_path / 'console.db'}")
        return
    with fresh_postgres_database() as url:
        yield _prepare(url)


def _console(url: str) -> FastAPI:
    config = ConsoleConfig(database_url=url, rasa_url="http://rasa.test", rasa_token="secret")
    return create_app(config, RasaClient(config, transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))))


def _burst(url: str, count: int, username: str = "li") -> List[int]:
    """`count` logins with a wrong password, sent at the same moment to a console under uvicorn."""
    codes: List[int] = [0] * count
    start = threading.Barrier(count)
    with served(_console(url)) as server:
        login_url = f"http://127.0.0.1:{server.config.port}/api/login"

        def guess(i: int) -> None:
            start.wait()
            codes[i] = httpx.post(login_url, json={"username": username, "password": f"guess {i}"}, timeout=120).status_code

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    return codes


def test_a_burst_of_parallel_wrong_passwords_gets_no_more_guesses_than_the_limit(database: str) -> None:
    codes = Counter(_burst(database, BURST))
    assert codes == {401: rate_limit.DEFAULT_MAX_PER_USER, 429: BURST - rate_limit.DEFAULT_MAX_PER_USER}, codes
    with session_scope(database) as session:
        assert rate_limit.retry_after(session, "li", "127.0.0.1") > 0


def test_parallel_reservations_count_each_attempt_once(database: str) -> None:
    """The service itself, without HTTP: of 40 threads reserving at once exactly the limit may go ahead."""
    allowed: List[int] = []
    start = threading.Barrier(BURST)

    def attempt() -> None:
        start.wait()
        with session_scope(database) as session:
            wait = rate_limit.reserve(session, "li", "203.0.113.9")
        if not wait:
            allowed.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(allowed) == rate_limit.DEFAULT_MAX_PER_USER


def test_the_right_password_after_a_few_misses_still_logs_in_and_clears_them(database: str) -> None:
    assert Counter(_burst(database, 3)) == {401: 3}
    with served(_console(database)) as server:
        response = httpx.post(
            f"http://127.0.0.1:{server.config.port}/api/login", json={"username": "li", "password": PASSWORD}
        )
    assert response.status_code == 200
    with session_scope(database) as session:
        assert rate_limit.retry_after(session, "li", "127.0.0.1") == 0
        assert session.query(rate_limit.LoginFailure).filter_by(username="li").count() == 0
