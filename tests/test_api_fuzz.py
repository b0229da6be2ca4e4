"""The staff API fuzzed from its own OpenAPI description (schemathesis), logged in as staff.

Every operation gets generated requests, valid and invalid ones; each answer must not be a
server error and must match the schema the API publishes for its status code. The console runs
under uvicorn in a thread, on a private SQLite database, with Rasa replaced by a transport that
accepts every call. (schemathesis 3.21's in-process ASGI client needs anyio 3; Rasa's pins bring 4.)
"""

from __future__ import annotations

from typing import Dict, Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis import DataGenerationMethod

from bot import staff as accounts
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.roles import Role
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent
from tests.conftest import served

PASSWORD = "correct horse battery"


def accept_everything(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"events": []} if request.method == "GET" else {})


@pytest.fixture(scope="module")
def console_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'console.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "admin", PASSWORD, role=Role.ADMIN)
        session.add(Handoff(conversation_id="p-1", channel="rest", reason="user_request", priority="normal"))
        session.add(
            Ticket(number="TK202601010001", conversation_id="p-1", channel="rest", kind="refund", category="surgery",
                   severity="normal", procedure="双眼皮", phone="13812345678", events=[TicketEvent(actor="bot", to_status="open")])
        )
    config = ConsoleConfig(database_url=url, rasa_url="http://rasa.test", rasa_token="secret")
    return create_app(config, RasaClient(config, transport=httpx.MockTransport(accept_everything)))


@pytest.fixture(scope="module")
def console_url(console_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with served(console_app) as server:
        yield f"http://127.0.0.1:{server.config.port}"


@pytest.fixture(scope="module")
def api_schema(console_url: str):  # type: ignore[no-untyped-def]
    return schemathesis.from_uri(
        f"{console_url}/openapi.json",
        base_url=console_url,
        # FastAPI labels its schema 3.1.0; with pydantic 1 it uses nothing 3.0 lacks.
        force_schema_version="30",
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
    )


@pytest.fixture(scope="module")
def staff_headers(console_url: str) -> Dict[str, str]:
    token = requests.post(f"{console_url}/api/login", json={"username": "admin", "password": PASSWORD}, timeout=30).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(case, staff_headers) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers=staff_headers, timeout=30)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
