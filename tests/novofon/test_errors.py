"""The error tables: every JSON-RPC code and mnemonic NovoFon documents maps to a typed
error with English and Russian text; evidence never carries credentials."""

from __future__ import annotations

import pytest

from trunkctl.errors import TrunkctlError
from trunkctl.novofon import (
    NovofonAccountInactive,
    NovofonApiError,
    NovofonAuthError,
    NovofonBadParams,
    NovofonBlocked,
    NovofonComponentDisabled,
    NovofonError,
    NovofonForbidden,
    NovofonIpNotWhitelisted,
    NovofonRateLimited,
    NovofonVirtualNumberError,
)
from trunkctl.novofon._errors import jsonrpc_error, outcome_unknown, rest_error


@pytest.mark.parametrize(
    ("code", "mnemonic", "cls"),
    [
        (-32001, "access_token_invalid", NovofonAuthError),
        (-32001, "access_token_expired", NovofonAuthError),
        (-32001, "access_token_blocked", NovofonAuthError),
        (-32001, "auth_error", NovofonAuthError),
        (-32002, "contact_in_blacklist", NovofonBlocked),
        (-32002, "something_new", NovofonBlocked),
        (-32003, "ip_not_whitelisted", NovofonIpNotWhitelisted),
        (-32003, "forbidden", NovofonForbidden),
        (-32007, "virtual_phone_number_not_found", NovofonVirtualNumberError),
        (-32008, "component_disabled", NovofonComponentDisabled),
        (-32008, "method_component_disabled", NovofonComponentDisabled),
        (-32009, "account_inactive", NovofonAccountInactive),
        (-32029, "limit_exceeded", NovofonRateLimited),
        (-32602, "required_parameter_missed", NovofonBadParams),
        (-32602, "date_interval_limit_reached", NovofonBadParams),
        (-32601, "method_not_found", NovofonApiError),
        (-32700, "parse_error", NovofonApiError),
        (-1, None, NovofonApiError),
    ],
)
def test_jsonrpc_codes_and_mnemonics(code: int, mnemonic: str | None, cls: type) -> None:
    data = {"mnemonic": mnemonic} if mnemonic else {}
    error = jsonrpc_error(
        {"code": code, "message": "m", "data": data}, method="x.y", http_status=200, secrets=()
    )
    assert type(error) is cls
    assert isinstance(error, NovofonError) and isinstance(error, TrunkctlError)
    assert error.exit_code == 7
    for text in (error.what, error.next_step):
        assert text is not None and text.en and text.ru and text.en != text.ru
    assert error.to_dict()["details"]["api_code"] == code


def test_limit_exceeded_carries_the_reset() -> None:
    error = jsonrpc_error(
        {
            "code": -32029,
            "message": "Limit per minute has been exceeded",
            "data": {
                "mnemonic": "limit_exceeded",
                "metadata": {
                    "limits": {
                        "minute_remaining": 0,
                        "minute_reset": 17,
                        "day_remaining": 5,
                        "day_reset": 999,
                    }
                },
            },
        },
        method="get.account",
        http_status=200,
        secrets=(),
    )
    assert isinstance(error, NovofonRateLimited) and error.retry_after == 17


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, NovofonAuthError),
        (403, NovofonForbidden),
        (429, NovofonRateLimited),
        (400, NovofonBadParams),
        (404, NovofonApiError),
    ],
)
def test_rest_statuses(status: int, cls: type) -> None:
    error = rest_error(
        method="sip",
        http_status=status,
        message="secret-value-1 echoed",
        retry_after=None,
        secrets=("secret-value-1",),
    )
    assert type(error) is cls
    assert "secret-value-1" not in str(error.evidence)


def test_outcome_unknown_texts_name_the_next_check() -> None:
    error = outcome_unknown(
        method="start.simple_call",
        reason="ReadTimeout",
        sent_at="2026-01-01 00:00:00 UTC",
        external_id="trunkctl-abc",
    )
    assert "trunkctl-abc" in error.next_step.en and "trunkctl-abc" in error.next_step.ru  # type: ignore[union-attr]
    assert error.to_dict()["details"] == {
        "method": "start.simple_call",
        "external_id": "trunkctl-abc",
    }
