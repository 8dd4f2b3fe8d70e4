"""The long-lived client across an orderly pbx restart (issue 16, item 2's last sentence).

`Sandbox().pbx.stop()` (SIGTERM: Asterisk shuts down and closes AMI) then `.start()`, which
keeps the config dir and the ports: the client logs in again by itself, an action asked
during the outage waits for the new session — and runs only once Asterisk is fully booted
(before the fix it often ran mid-boot, where even `core show version` is "No such
command") — and a
subscription keeps delivering events. The kill -9 case is in test_live.py and
tests/calling/test_campaign.py.
"""

from __future__ import annotations

import asyncio

import pytest

from trunkctl.ami import AmiClient
from trunkctl.errors import AmiActionError, AmiConnectionError

from ..conftest import SandboxInfo
from .test_live import client_for

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


async def _endpoints(client: AmiClient) -> str:
    try:
        await client.list_action("PJSIPShowEndpoints")
    except AmiActionError as exc:
        return str(exc.details.get("message"))
    return "listed"


@pytest.mark.parametrize("events", [True, ("call", "user")], ids=["all-events", "campaign"])
async def test_an_orderly_pbx_restart_is_survived(pbx: SandboxInfo, events: object) -> None:
    instance = pbx.sandbox.pbx
    try:
        async with client_for(pbx, backoff=(0.05, 0.2), timeout=30, events=events) as client:
            with client.subscribe({"Event": "FullyBooted"}) as booted:
                assert client.connections == 1
                # Asterisk greets every new session that reads `system` with FullyBooted; on
                # a busy machine the first session's greeting can land after the subscription
                # starts. It is not what this test is about: take it out first.
                await asyncio.sleep(0.3)
                while len(booted):
                    assert (await booted.get(timeout=1))["Event"] == "FullyBooted"
                await asyncio.to_thread(instance.stop)
                for _ in range(50):
                    if not client.connected:
                        break
                    await asyncio.sleep(0.1)
                assert not client.connected
                # Asked while Asterisk is down: waits for the reconnection, then runs on
                # a fully booted Asterisk (res_pjsip loaded: it answers, with no endpoints
                # on a fresh pbx, instead of "Invalid/unknown command").
                listing = asyncio.ensure_future(_endpoints(client))
                await asyncio.sleep(0.5)
                assert not listing.done()
                await asyncio.to_thread(instance.start)
                assert await asyncio.wait_for(listing, 30) in ("listed", "No endpoints found")
                assert client.connected and client.connections == 2
                with pytest.raises(AmiConnectionError):  # the loss, once, in order
                    await booted.get(timeout=1)
                if events is True:  # the same subscription, on the new session
                    event = await booted.get(timeout=10)
                    assert event["Event"] == "FullyBooted"
                else:  # the campaign's mask is back: no system events
                    assert len(booted) == 0
    finally:
        await asyncio.to_thread(instance.start)
