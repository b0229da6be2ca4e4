"""The development sender: logs a masked line instead of sending, and keeps the messages for tests."""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from typing import Deque, List

from bot import phone
from bot.sms import SmsMessage

log = logging.getLogger(__name__)

KEPT_MESSAGES = 100
_DIGIT_RUN = re.compile(r"\d{4,}")


class LogSmsSender:
    """Sends nothing. The log shows the masked phone and the text with its codes hidden; `sent` keeps
    the last messages whole, in this process only."""

    def __init__(self) -> None:
        self._sent: Deque[SmsMessage] = deque(maxlen=KEPT_MESSAGES)
        self._lock = threading.Lock()
        log.warning("SMS_SENDER=log: one-time codes reach no patient; set SMS_SENDER=http in a hospital")

    def send(self, message: SmsMessage) -> None:
        with self._lock:
            self._sent.append(message)
        hidden = _DIGIT_RUN.sub(lambda match: "*" * len(match.group(0)), message.text)
        log.info("SMS not sent (SMS_SENDER=log) to %s: %s", phone.mask(message.phone), hidden)

    @property
    def sent(self) -> List[SmsMessage]:
        with self._lock:
            return list(self._sent)
