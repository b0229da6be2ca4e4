"""The base of the services' errors that staff are told about in their own words."""

from __future__ import annotations


class KeyedError(Exception):
    """An operation that cannot be done. `key` names the sentence that says why (the console's
    bot/console/messages.yml), `values` fill it in."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key, values)
        self.key = key
        self.values = values
