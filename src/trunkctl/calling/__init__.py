"""Placing calls through Asterisk: the explained test call (and, later, calls at volume)."""

from ._test_call import CALL_EXIT_CODES, CallReport, place_test_call

__all__ = ["CALL_EXIT_CODES", "CallReport", "place_test_call"]
