"""Follow-ups: what the hospital sends of its own accord (docs/followups.md).

`records` stores and reads them, `scheduler` delivers the due ones once across every instance,
`delivery` hands a message to the patient's channel through Rasa's HTTP API.
"""
