"""What each provider test number must give, typed by hand from the sandbox's table
(trunkctl/sandbox/_configs.py): shared by the replay (test_calls.py) and live tests."""

from __future__ import annotations

EXPECTED = {
    # number: (status, sip_code, q850)
    "79990000200": ("answered", None, 16),
    "79990000201": ("answered", None, 16),
    "79990000486": ("busy", 486, 17),
    "79990000404": ("not_found", 404, 1),
    "79990000403": ("rejected", 403, 21),
    "79990000503": ("congestion", 503, 34),
    "79990000480": ("no_answer", None, 19),  # rings until Asterisk's ring timeout cancels it
    "12345": ("not_found", 404, 1),  # any unlisted number: 404
}
