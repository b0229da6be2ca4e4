"""Beyond one machine: two Rasa instances and two action servers behind nginx, PostgreSQL, Redis.

One cluster for the module (each Rasa instance takes ~45 s and 1.3 GB to start). The tests run in
file order; the last one kills an instance.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from itertools import cycle
from typing import Dict, Iterator, List

import pytest
import redis
from sqlalchemy import text

from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.store import db
from tests.cluster import Cluster, SocketPatient, http_json, prepare_database
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, post_json
from tests.services import fresh_postgres_database, redis_url

PHONE = "13812345678"
FORM = ["我想退款", "是", "双眼皮", "上个月15号", "两边眼皮一宽一窄，和术前设计的不一样，想退款", PHONE, "是"]
KILL_AFTER = 4  # messages answered before one instance dies: the form is asking for the description
EXPECTED = {"是": "哪个项目", "双眼皮": "什么时候做的", "上个月15号": "描述", FORM[4]: "手机号", PHONE: "138****5678"}
SMALL_TALK = ["你好", "谢谢", "你们医院电话是多少", "医院地址在哪里", "您好", "谢谢你"]
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    redis_location = redis_url()
    with ExitStack() as resources:
        database_url = resources.enter_context(fresh_postgres_database())
        prepare_database(database_url)
        running = Cluster(tmp_path_factory.mktemp("cluster"), database_url, redis_location)
        resources.callback(running.close)
        running.timings.update({f"{name}_start_seconds": round(s, 1) for name, s in running.start().items()})
        yield running
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cluster.json").write_text(json.dumps(running.timings, ensure_ascii=False, indent=2) + "\n")


def staff_headers(cluster: Cluster) -> Dict[str, str]:
    token = post_json(f"{cluster.console_url}/api/login", {"username": STAFF_USER, "password": STAFF_PASSWORD})
    return {"Authorization": f"Bearer {token['access_token']}"}


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


async def staff_reply_across_instances(cluster: Cluster) -> None:
    patient = SocketPatient(cluster.url("rasa-b"))
    await patient.connect()
    try:
        await patient.say("转人工")
        await patient.message_containing("人工客服")
        headers = staff_headers(cluster)
        queue_url = f"{cluster.console_url}/api/handoffs?status=waiting"
        queue = await asyncio.to_thread(http_json, queue_url, "GET", None, headers)
        handoff = next(h for h in queue if h["conversation_id"] == patient.session_id)
        assert handoff["channel"] == "socketio"
        console = f"{cluster.console_url}/api/handoffs/{handoff['id']}"
        assert (await asyncio.to_thread(post_json, f"{console}/claim", {}, headers))["status"] == "active"

        # The console's own Rasa client, pointed at instance A, which holds no socket of this patient.
        instance_a = RasaClient(ConsoleConfig(cluster.database_url, cluster.url("rasa-a"), cluster.token))
        sent_at = time.monotonic()
        await asyncio.to_thread(instance_a.send_staff_message, patient.session_id, "socketio", "您好，我是值班护士。", STAFF_USER)
        instance_a.close()
        reply = await patient.message_containing("值班护士")
        cluster.timings["staff_reply_to_other_instance_seconds"] = round(time.monotonic() - sent_at, 2)
        assert reply.get("staff") is True, f"the widget cannot tell a person's reply: {reply}"
        assert STAFF_USER not in json.dumps(reply), "the staff login name reached the patient"

        # Through the console and nginx, whichever instance answers.
        await asyncio.to_thread(post_json, f"{console}/messages", {"text": "请问哪里不舒服？"}, headers)
        await patient.message_containing("哪里不舒服")
        assert await patient.heard_within(2) == [], "a staff reply arrived twice"
    finally:
        await patient.close()


def test_a_staff_reply_posted_to_one_instance_reaches_a_widget_patient_on_the_other(cluster: Cluster) -> None:
    asyncio.run(asyncio.wait_for(staff_reply_across_instances(cluster), 120))


async def widget_through_nginx(cluster: Cluster) -> None:
    patient = SocketPatient(cluster.public_url)
    await patient.connect()
    try:
        await patient.say("疼" * 20000)
        await patient.message_containing("20000 个字")
        await patient.say("医院地址在哪里")
        assert (await patient.next_message()).get("text")
    finally:
        await patient.close()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_patients_reach_the_widget_and_socket_io_through_nginx_but_not_rasas_api(cluster: Cluster) -> None:
    """Including a 20 000-character message, which the channel's guard answers with the limit."""
    asyncio.run(asyncio.wait_for(widget_through_nginx(cluster), 60))
    assert status_of(f"{cluster.public_url}/widget.js") == 200
    assert status_of(f"{cluster.public_url}/conversations/anyone/tracker?token={cluster.token}") == 404
    assert status_of(f"{cluster.public_url}/status?token={cluster.token}") == 404
    assert status_of(f"{cluster.internal_url}/status?token={cluster.token}") == 200


def test_the_action_servers_refuse_a_call_without_rasas_secret(cluster: Cluster) -> None:
    """Through nginx's actions listener, as anyone on the hospital network could reach it (deploy/nginx/)."""
    url = f"http://127.0.0.1:{cluster.ports['actions']}/webhook"
    call = json.dumps({"next_action": "action_ticket_status", "sender_id": "x", "tracker": {"sender_id": "x"}})
    request = urllib.request.Request(url, data=call.encode(), method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert status_of(f"http://127.0.0.1:{cluster.ports['actions']}/health") == 200


def turns(events: List[dict]) -> List[List[dict]]:
    """The events from each user message up to the next one."""
    result: List[List[dict]] = []
    for event in events:
        if event["event"] == "user":
            result.append([])
        if result:
            result[-1].append(event)
    return result


def test_concurrent_messages_to_one_conversation_on_both_instances_are_serialised_by_the_redis_lock(
    cluster: Cluster,
) -> None:
    sender = f"concurrent-{uuid.uuid4().hex}"
    lock_key = f"lock:{sender}"
    store = redis.Redis.from_url(cluster.redis_url)
    lock_seen, done = threading.Event(), threading.Event()

    def watch_lock() -> None:
        while not done.is_set():
            if store.exists(lock_key):
                lock_seen.set()
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_lock, daemon=True)
    watcher.start()
    try:
        instances = cycle(cluster.url(name) for name in cluster.RASA)
        with ThreadPoolExecutor(len(SMALL_TALK)) as pool:
            urls = [next(instances) for _ in SMALL_TALK]
            replies = list(pool.map(lambda message, url: cluster.say(sender, message, url)[0], SMALL_TALK, urls))
    finally:
        done.set()
        watcher.join()
        store.close()

    events = cluster.tracker(sender)["events"]
    stored = sorted(e["text"] for e in events if e["event"] == "user")
    assert stored == sorted(SMALL_TALK), "a message was lost or doubled"
    for turn in turns(events):
        assert any(e["event"] == "bot" for e in turn), f"{turn[0]['text']!r} got no answer of its own: {turn}"
        assert (turn[-1]["event"], turn[-1].get("name")) == ("action", "action_listen"), "turns interleaved"
    assert all(replies), "a patient got no answer"
    assert lock_seen.is_set(), "Rasa never took a lock in Redis"


def test_one_rasa_instance_killed_mid_conversation_the_other_carries_on_with_nothing_lost(cluster: Cluster) -> None:
    sender = f"failover-{uuid.uuid4().hex}"
    served_by = []
    for message in FORM[:KILL_AFTER]:
        replies, upstream = cluster.say(sender, message)
        served_by.append(cluster.instance_of(upstream))
        if message in EXPECTED:
            assert EXPECTED[message] in texts(replies), f"after {message!r}: {texts(replies)}"
    assert set(served_by) == set(cluster.RASA), f"nginx did not spread the conversation: {served_by}"

    cluster.kill("rasa-a")
    killed_at = time.monotonic()
    replies, upstream = cluster.say(sender, FORM[KILL_AFTER])
    cluster.timings["first_answer_after_kill_seconds"] = round(time.monotonic() - killed_at, 2)
    assert cluster.instance_of(upstream) == "rasa-b"
    assert EXPECTED[FORM[KILL_AFTER]] in texts(replies), "the form did not continue at its question"

    for message in FORM[KILL_AFTER + 1 :]:
        replies, _ = cluster.say(sender, message)
    number = re.search(r"TK\d{16}", texts(replies))
    assert number, texts(replies)

    stored = [e["text"] for e in cluster.tracker(sender)["events"] if e["event"] == "user"]
    assert stored == FORM, "a message was lost or stored twice"
    with db.get_engine(cluster.database_url).connect() as conn:
        query = text("SELECT number FROM tickets WHERE conversation_id = :c")
        tickets = conn.execute(query, {"c": sender}).scalars().all()
    assert tickets == [number.group(0)]
    cluster.timings["messages_lost"] = f"{len(FORM) - len(stored)}/{len(FORM)}"
