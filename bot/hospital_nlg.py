"""Rasa's response generator with the hospital's facts: `{hotline}`, `{on_call_line}` … in domain.yml.

Each fact (a phone number, an address, hours) is written once, in data/policies/hospital.yml. Responses in
domain.yml name them as placeholders; this generator, configured in `endpoints.yml` (`nlg: type:
bot.hospital_nlg.HospitalResponses`), fills them in beside the slots, the way Rasa's own templated generator
fills `{slot}`. A slot never overrides a fact.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot import hospital


class HospitalResponses(TemplatedNaturalLanguageGenerator):
    """Domain responses with the hospital's facts available as placeholders."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def _response_variables(self, filled_slots: Dict[Text, Any], kwargs: Dict[Text, Any]) -> Dict[Text, Any]:
        variables = super()._response_variables(filled_slots, kwargs)
        variables.update(hospital.load().facts())
        return variables
