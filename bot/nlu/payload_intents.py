"""Intents only buttons send, never the classifier: they have no NLU examples, by design.

`rate_service` is the satisfaction question's five buttons (`/rate_service{"satisfaction_score":"1…5"}`,
bot/followups/satisfaction.py); a typed "很不满意" is the button too (bot/typed_choices.py). The NLU data checks
and the NLU inbox's choices leave these out, and `make validate` accepts their missing examples.
"""

PAYLOAD_ONLY_INTENTS = frozenset({"rate_service"})
