"""Placing calls: through Asterisk (the explained test call, many calls as a campaign), and
through NovoFon's HTTP API (NovoFon rings your line, then the number)."""

from typing import TYPE_CHECKING

from trunkctl._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._api_calls import (
        CallsReport,
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
    "CallsReport",
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

# Imported on first use: see trunkctl._lazy.
__getattr__ = _lazy_exports(
    __name__,
    {
        "CallsReport": "_api_calls",
        "PlacedCall": "_api_calls",
        "call_via": "_api_calls",
        "calls_report": "_api_calls",
        "new_external_id": "_api_calls",
        "place_call": "_api_calls",
        "wait_for_call": "_api_calls",
        "CALL_EVENTS": "_campaign",
        "READ_BATCH": "_campaign",
        "RETRY_CHOICES": "_campaign",
        "CampaignError": "_campaign",
        "CampaignProgress": "_campaign",
        "CampaignReport": "_campaign",
        "CampaignRunner": "_campaign",
        "NumberResult": "_campaign",
        "narrow_to_call_events": "_campaign",
        "record_call_result": "_campaign",
        "BadLine": "_numberlist",
        "NumberEntry": "_numberlist",
        "NumberList": "_numberlist",
        "load_numbers": "_numberlist",
        "read_numbers": "_numberlist",
        "TokenBucket": "_pacing",
        "CALL_EXIT_CODES": "_test_call",
        "CallReport": "_test_call",
        "place_test_call": "_test_call",
    },
)
