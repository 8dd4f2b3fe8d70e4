"""The blocking facades run the async clients' code (see test_rest_client.py and
test_jsonrpc_client.py for behaviour); here: they deliver results and errors unchanged."""

from __future__ import annotations

import pytest

from trunkctl.novofon import (
    CallApiSync,
    DataApiSync,
    NovofonAuthError,
    NovofonOutcomeUnknown,
    RestV1Sync,
)

from .conftest import API_KEY, LINE_LOGIN, VIRTUAL, make_world


def test_rest_sync() -> None:
    world = make_world()
    world.backend.register(LINE_LOGIN)
    with RestV1Sync(world.rest()) as api:
        assert api.balance().currency == "RUB"
        assert api.sip_status(LINE_LOGIN).is_online is True
        assert api.sip_numbers().sips[0].id == LINE_LOGIN
        assert api.call("info/balance", idempotent=True)["status"] == "success"
    with RestV1Sync(world.rest(secret="x" * 20)) as api, pytest.raises(NovofonAuthError):
        api.balance()


def test_jsonrpc_sync() -> None:
    world = make_world()
    with DataApiSync(world.data()) as data, CallApiSync(world.calls(api_key=API_KEY)) as calls:
        assert data.account().app_id == 100001
        assert data.update_sip_line_password(11).reveal() == world.backend.password(LINE_LOGIN)
        call = calls.start_simple_call(
            virtual_phone_number=VIRTUAL, contact="79991234567", operator="79160000001"
        )
        assert [c.call_session_id for c in calls.list_calls()] == [call.call_session_id]
        calls.release_call(call.call_session_id)
        assert calls.list_calls() == []
        world.emulator.fail_after_commit("start.simple_call")
        with pytest.raises(NovofonOutcomeUnknown):
            calls.start_simple_call(
                virtual_phone_number=VIRTUAL, contact="79991234567", operator="79160000001"
            )
