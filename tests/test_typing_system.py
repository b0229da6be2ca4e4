"""The typing indicator end to end (#18): a widget patient handed to a person receives `staff_typing` while the
holder types in the console, through the console's API, Rasa's Socket.IO channel and the patient's socket."""

from __future__ import annotations

import asyncio

from tests.cluster import SocketPatient
from tests.conftest import RunningSystem, post_json
from tests.test_handoff_socketio import find_handoff


async def typing_events(system: RunningSystem) -> list:
    patient = SocketPatient(system.rasa_url)
    seen: "asyncio.Queue[dict]" = asyncio.Queue()

    async def typing(data: dict) -> None:
        await seen.put(data)

    patient.client.on("staff_typing", typing)
    await patient.connect()
    try:
        await patient.say("转人工")
        await patient.message_containing("人工客服")
        staff = system.staff_headers()
        handoff = find_handoff(system, staff, patient.session_id)
        console = f"{system.console_url}/api/handoffs/{handoff['id']}"
        post_json(f"{console}/claim", {}, staff)
        assert post_json(f"{console}/typing", {"typing": True}, staff) == {"sent": True}
        first = await asyncio.wait_for(seen.get(), 10)
        assert post_json(f"{console}/typing", {"typing": False}, staff) == {"sent": True}
        second = await asyncio.wait_for(seen.get(), 10)
        post_json(f"{console}/release", {}, staff)
        return [first, second]
    finally:
        await patient.client.disconnect()


def test_a_widget_patient_sees_that_a_person_is_typing(system: RunningSystem) -> None:
    assert asyncio.run(typing_events(system)) == [{"typing": True}, {"typing": False}]
