"""`python -m bot followups run [--now ISO-TIME]` (one tick, then exit) and `python -m bot followups serve`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from bot import logging_filter
from bot.followups import scheduler
from bot.followups.delivery import RasaDeliverer


def main(command: str, now: Optional[datetime]) -> int:
    logging_filter.install()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # APScheduler logs every run of the tick at INFO; the scheduler logs what it sent itself.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    deliver = RasaDeliverer()
    try:
        if command == "serve":
            return scheduler.serve(deliver)
        result = scheduler.run_due(deliver, now=now)
        print(f"{result.sent} sent, {result.failed} failed, {result.retried} to retry")
        return 0
    finally:
        deliver.close()
