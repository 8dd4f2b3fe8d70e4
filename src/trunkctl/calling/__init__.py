"""Placing calls: through Asterisk (the explained test call, many calls as a campaign), and
through NovoFon's HTTP API (NovoFon rings your line, then the number)."""

from ._api_calls import (
    PlacedCall,
    call_via,
    calls_report,
    new_external_id,
    place_call,
    wait_for_call,
)
from ._campaign import (
    CALL_EVENTS,
    READ_BATCH,
    RETRY_CHOICES,
    CampaignError,
    CampaignProgress,
    CampaignReport,
    CampaignRunner,
    NumberResult,
    narrow_to_call_events,
    record_call_result,
)
from ._numberlist import BadLine, NumberEntry, NumberList, load_numbers, read_numbers
from ._pacing import TokenBucket
from ._test_call import CALL_EXIT_CODES, CallReport, place_test_call

__all__ = [
    "CALL_EVENTS",
    "CALL_EXIT_CODES",
    "READ_BATCH",
    "RETRY_CHOICES",
    "BadLine",
    "CallReport",
    "CampaignError",
    "CampaignProgress",
    "CampaignReport",
    "CampaignRunner",
    "NumberEntry",
    "NumberList",
    "NumberResult",
    "PlacedCall",
    "TokenBucket",
    "call_via",
    "calls_report",
    "load_numbers",
    "narrow_to_call_events",
    "new_external_id",
    "place_call",
    "place_test_call",
    "read_numbers",
    "record_call_result",
    "wait_for_call",
]
