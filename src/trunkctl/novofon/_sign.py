"""NovoFon's REST v1 and webhook signatures, as pure functions.

Written by hand because the algorithm is three lines of hashlib and no kept library
implements it: the official clients (novofon/user-api-v1 in PHP, zadarma/user-api-py-v1,
zadarma/user-api-typescript) all do

    qs        = http_build_query(ksort(params), RFC 1738)   # space -> '+'
    data      = method_path + qs + md5_hex(qs)
    signature = base64( hex( HMAC-SHA1(secret, data) ) )    # base64 of the HEX STRING

and webhooks sign a few concatenated form fields the same way. The server side is PHP, so
the query string follows PHP's ``urlencode``: only ``A-Za-z0-9-_.`` stay literal; unlike
Python's ``quote_plus`` (3.7+), PHP also escapes ``~`` as ``%7E``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote_plus

from ._secret import Secret, reveal

__all__ = [
    "ParamValue",
    "hmac_sha1_b64hex",
    "php_urlencode",
    "rest_v1_query",
    "rest_v1_signature",
    "wire_value",
]

ParamValue = str | int | float | bool


def wire_value(value: ParamValue) -> str:
    """A parameter as PHP's ``http_build_query`` renders it (``True`` is ``1``, ``False`` ``0``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def php_urlencode(text: str) -> str:
    """PHP ``urlencode`` (RFC 1738 form encoding): UTF-8 bytes, space as ``+``, ``~`` escaped."""
    return quote_plus(text, safe="").replace("~", "%7E")


def rest_v1_query(params: Mapping[str, ParamValue], *, literal_tilde: bool = False) -> str:
    """The signed query string: parameters sorted by name, form-encoded, joined by ``&``.

    ``literal_tilde`` keeps ``~`` as Python's ``urlencode`` does (zadarma/user-api-py-v1
    zadarma/api.py signs that way); the default escapes it as PHP does (novofon/user-api-v1
    lib/Client.php, ``http_build_query(..., PHP_QUERY_RFC1738)``).
    """
    encode = (lambda text: quote_plus(text, safe="")) if literal_tilde else php_urlencode
    return "&".join(f"{encode(name)}={encode(wire_value(params[name]))}" for name in sorted(params))


def hmac_sha1_b64hex(secret: Secret | str, data: str) -> str:
    """``base64(hex(HMAC-SHA1(secret, data)))``: NovoFon's signature encoding everywhere."""
    digest_hex = hmac.new(reveal(secret).encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest_hex.encode("ascii")).decode("ascii")


def rest_v1_signature(method_path: str, query: str, secret: Secret | str) -> str:
    """The ``signature`` half of ``Authorization: key:signature`` for one request."""
    md5_hex = hashlib.md5(query.encode(), usedforsecurity=False).hexdigest()
    return hmac_sha1_b64hex(secret, method_path + query + md5_hex)
