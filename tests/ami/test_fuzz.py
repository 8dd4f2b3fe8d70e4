"""Fuzzing the AMI adapter with random chunking (issue 16, item 6; slow, a few seconds).

The parser alone is fuzzed in test_parser.py. Here the whole adapter (AmiProtocol) gets a
list action's answer interleaved with unrelated events, cut at random points: the list's
items, the events handed on and their order must not depend on the cuts, and a cap that
stops the list must stop it at the same item however the bytes arrive.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.ami import AmiListTooLongError, ListResult, Message, Parser
from trunkctl.ami._protocol import AmiProtocol

pytestmark = pytest.mark.slow

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
DATA = Path(__file__).parent / "data" / "asterisk22_events.bin"


class _Wire:
    """The transport seam: what the adapter writes, and nothing else."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


values = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0:"), max_size=20).map(
    str.strip
)
# What comes after the list's response: item i, or an unrelated event.
script = st.lists(st.one_of(st.tuples(st.just("item"), values), st.tuples(st.just("ev"), values)))
cuts = st.lists(st.integers(min_value=0, max_value=50_000), max_size=20)


def _wire(action_id: str, steps: list[tuple[str, str]], complete: bool) -> bytes:
    out = [BANNER, f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n\r\n"]
    items = 0
    for kind, value in steps:
        if kind == "item":
            items += 1
            out.append(
                f"Event: EndpointList\r\nActionID: {action_id}\r\nObjectName: {value}\r\n\r\n"
            )
        else:
            out.append(f"Event: Newexten\r\nAppData: {value}\r\n\r\n")
    if complete:
        out.append(
            f"Event: EndpointListComplete\r\nActionID: {action_id}\r\nEventList: Complete\r\n"
            f"ListItems: {items}\r\n\r\n"
        )
    return b"".join(p if isinstance(p, bytes) else p.encode() for p in out)


def _run(
    steps: list[tuple[str, str]], points: list[int], max_items: int, complete: bool = True
) -> tuple[ListResult | BaseException, list[str]]:
    async def main() -> tuple[ListResult | BaseException, list[str]]:
        events: list[Message] = []
        proto = AmiProtocol("fuzz", events.append, max_list_items=max_items)
        proto.connection_made(_Wire())  # type: ignore[arg-type]
        future = proto.send("PJSIPShowEndpoints", (), timeout=5, is_list=True, action_id="L1")
        data = _wire("L1", steps, complete)
        at = sorted({p % (len(data) + 1) for p in points})
        for a, b in zip([0, *at], [*at, len(data)], strict=True):
            proto.data_received(data[a:b])
        try:
            result: ListResult | BaseException = await asyncio.wait_for(future, 1)
        except AmiListTooLongError as exc:
            result = exc
        return result, [e.get("AppData") or "" for e in events]

    return asyncio.run(main())


@settings(max_examples=250, deadline=None)
@given(script, cuts)
def test_list_items_and_events_do_not_depend_on_the_cuts(
    steps: list[tuple[str, str]], points: list[int]
) -> None:
    result, events = _run(steps, points, max_items=10_000)
    assert isinstance(result, ListResult) and result.complete
    assert [e["ObjectName"] for e in result.events] == [v for k, v in steps if k == "item"]
    assert events == [v for k, v in steps if k == "ev"]  # every other event, in order
    whole, whole_events = _run(steps, [], max_items=10_000)
    assert isinstance(whole, ListResult) and whole_events == events
    assert [e.headers for e in whole.events] == [e.headers for e in result.events]


@settings(max_examples=250, deadline=None)
@given(script, cuts, st.integers(min_value=0, max_value=5))
def test_the_cap_stops_at_the_same_item_however_the_bytes_arrive(
    steps: list[tuple[str, str]], points: list[int], cap: int
) -> None:
    items = sum(k == "item" for k, _ in steps)
    result, events = _run(steps, points, max_items=cap)
    if items <= cap:
        assert isinstance(result, ListResult) and len(result.events) == items
    else:
        assert isinstance(result, AmiListTooLongError)
        assert result.details["items"] == cap + 1
    # The list's own items never leak out as events, before or after the cap.
    assert events == [v for k, v in steps if k == "ev"]


@settings(max_examples=40, deadline=None)
@given(cuts)
def test_the_recorded_asterisk_stream_parses_the_same_under_any_cuts(points: list[int]) -> None:
    data = DATA.read_bytes()
    whole = Parser().feed(data)
    parser = Parser()
    out: list[Message] = []
    at = sorted({p * 37 % (len(data) + 1) for p in points})
    for a, b in zip([0, *at], [*at, len(data)], strict=True):
        out += parser.feed(data[a:b])
    assert [m.headers for m in out] == [m.headers for m in whole] and len(whole) > 900
