"""How fast the WeChat channel acknowledges WeChat's pushes and how soon the answer reaches the API.

WeChat waits 5 s for a passive reply and retries; the channel answers `success` before handling the
message. This starts the whole system (`python -m bot run`) with the WeChat channel in safe mode
against the loopback fake of tests/fake_wechat.py, posts signed emergency messages ("伤口一直流血止不住"),
plain and encrypted, one patient at a time, and prints the acknowledgement times and the time until
the emergency answer (naming 120) arrived at the fake API as a customer-service message.

    PYTHONPATH=. .venv/bin/python bench/wechat.py [--messages 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import List

from tests.conftest import RunningSystem
from tests.fake_wechat import FakeWeChat
from tests.wechat_messages import (
    APP_ID,
    APP_SECRET,
    ENCODING_AES_KEY,
    WECHAT_TOKEN,
    encrypted,
    openid,
    post,
    signed_query,
    text_xml,
)

EMERGENCY = "伤口一直流血止不住"


def summary(milliseconds: List[float]) -> str:
    ordered = sorted(milliseconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    args = parser.parse_args()
    fake = FakeWeChat(APP_ID, APP_SECRET).start()
    env = dict(
        WECHAT_TOKEN=WECHAT_TOKEN, WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=APP_SECRET,
        WECHAT_ENCODING_AES_KEY=ENCODING_AES_KEY, WECHAT_API_BASE=fake.url,
    )
    system = RunningSystem(Path(tempfile.mkdtemp()), env=env)
    plain, safe, answered = [], [], []
    try:
        system.wait_ready()
        for _ in range(args.messages):
            patient = openid()
            started = time.perf_counter()
            status, body, seconds = post(system.rasa_url, text_xml(patient, EMERGENCY), signed_query())
            assert (status, body) == (200, "success"), (status, body)
            plain.append(seconds * 1000)
            fake.wait_for_text(patient, lambda text: "120" in text)
            answered.append((time.perf_counter() - started) * 1000)
            other = openid()
            body, query = encrypted(text_xml(other, EMERGENCY), signed_query())
            safe.append(post(system.rasa_url, body, query)[2] * 1000)
            fake.wait_for_text(other, lambda text: "120" in text)
    finally:
        system.stop()
        fake.stop()
    print(f"success to a plain message:      {summary(plain)}")
    print(f"success to a safe-mode message:  {summary(safe)}")
    print(f"emergency answer at the API:     {summary(answered)}")
    print(f"access tokens fetched:           {fake.token_fetches()}")


if __name__ == "__main__":
    main()
