"""The AMI parser and encoder, without I/O (the client over sockets: test_client.py).

Expected values are written by hand or generated as the input itself; the recorded stream
(data/asterisk22_events.bin, from the sandbox's Asterisk 22 by bench/record_ami_stream.py)
is checked against a deliberately naive reference reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.ami import AmiProtocolError, Message, Parser, encode_action
from trunkctl.errors import AmiConnectionError, BadInput

DATA = Path(__file__).parent / "data" / "asterisk22_events.bin"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def feed_all(data: bytes, *, banner: bool = True) -> list[Message]:
    return Parser(banner=banner).feed(data)


# -- framing and banner -------------------------------------------------------------------
def test_banner_has_no_blank_line_after_it_and_gives_the_version() -> None:
    parser = Parser()
    msgs = parser.feed(BANNER + b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
    assert parser.banner == "11.0.0"
    assert [m.headers for m in msgs] == [
        [("Response", "Success"), ("Message", "Authentication accepted")]
    ]


def test_banner_and_messages_byte_by_byte() -> None:
    parser = Parser()
    out: list[Message] = []
    for byte in BANNER + b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n":
        out += parser.feed(bytes([byte]))
    assert parser.banner == "11.0.0"
    assert [m.headers for m in out] == [[("Event", "FullyBooted"), ("Status", "Fully Booted")]]
    assert parser.buffered == 0


@pytest.mark.parametrize(
    "greeting",
    [b"SSH-2.0-OpenSSH_9.2p1\r\n", b"HTTP/1.1 400 Bad Request\r\n", b"\x16\x03\x01\x02\x00"],
)
def test_a_peer_that_is_not_ami_is_refused_at_its_first_bytes(greeting: bytes) -> None:
    with pytest.raises(AmiProtocolError) as info:
        Parser().feed(greeting)
    assert isinstance(info.value, AmiConnectionError)
    assert "manager" in info.value.what.en and "manager" in (info.value.next_step or "").__str__()


def test_a_partial_banner_waits_and_a_huge_line_without_newline_is_refused() -> None:
    assert Parser().feed(b"Asterisk Call") == []
    with pytest.raises(AmiProtocolError):
        Parser().feed(b"Asterisk Call Manager/" + b"9" * 2000)


def test_a_message_that_never_ends_is_refused_past_the_limit() -> None:
    parser = Parser(banner=False, max_message=1000)
    parser.feed(b"Event: X\r\n" + b"Output: x\r\n" * 50)
    with pytest.raises(AmiProtocolError):
        parser.feed(b"Output: x\r\n" * 100)


def test_extra_blank_lines_between_messages_are_ignored() -> None:
    msgs = feed_all(
        b"Event: A\r\n\r\n\r\n\r\n\r\nEvent: B\r\n\r\n\r\nEvent: C\r\n\r\n", banner=False
    )
    assert [m.headers for m in msgs] == [[("Event", "A")], [("Event", "B")], [("Event", "C")]]


# -- headers ------------------------------------------------------------------------------
HANGUP = (
    b"Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/novofon-00000000\r\n"
    b"AccountCode: \r\nUniqueid: pbx-1795675855.2\r\nCause: 17\r\nCause-txt: User busy\r\n"
    b"TechCause: 486\r\n\r\n"
)


def test_keys_with_dash_and_digits_values_with_colons_and_empty_values() -> None:
    (msg,) = feed_all(
        b"Event: Newexten\r\nAppData: PJSIP/79990000200@novofon,20\r\nCause-txt: User busy\r\n"
        b"Timestamp: 1795675970.734178\r\nDialString: sip:1@127.0.0.1:5060\r\nAccountCode: \r\n"
        b"X-2: y\r\n\r\n",
        banner=False,
    )
    assert msg.headers == [
        ("Event", "Newexten"),
        ("AppData", "PJSIP/79990000200@novofon,20"),
        ("Cause-txt", "User busy"),
        ("Timestamp", "1795675970.734178"),
        ("DialString", "sip:1@127.0.0.1:5060"),
        ("AccountCode", ""),
        ("X-2", "y"),
    ]
    assert msg["DialString"] == "sip:1@127.0.0.1:5060"
    assert msg["AccountCode"] == ""


def test_a_trailing_empty_header_is_kept() -> None:
    (msg,) = feed_all(b"Event: Newchannel\r\nExten: s\r\nAccountCode: \r\n\r\n", banner=False)
    assert msg.headers[-1] == ("AccountCode", "")
    assert "AccountCode" in msg and msg.get("AccountCode") == ""


def test_repeated_keys_keep_every_value_in_order_and_lookup_gives_the_first() -> None:
    (msg,) = feed_all(
        b"Response: Success\r\nMessage: Command output follows\r\nOutput: line 1\r\n"
        b"Output: \r\nOutput: line: 3\r\nVariable: A=1\r\nVariable: B=\r\n\r\n",
        banner=False,
    )
    assert msg.get_all("Output") == ["line 1", "", "line: 3"]
    assert msg.get_all("output") == ["line 1", "", "line: 3"]
    assert msg.get_all("Variable") == ["A=1", "B="]
    assert msg["Output"] == "line 1"
    assert len(msg) == 7


def test_lookup_ignores_key_case_as_asterisk_does() -> None:
    (msg,) = feed_all(HANGUP, banner=False)
    assert msg["uniqueid"] == "pbx-1795675855.2"
    assert msg["CAUSE-TXT"] == "User busy"
    assert msg.get("NoSuchHeader") is None
    assert msg.get("NoSuchHeader", "x") == "x"
    with pytest.raises(KeyError):
        msg["NoSuchHeader"]
    assert msg.event == "Hangup" and msg.response is None and msg.action_id is None


def test_blanks_after_the_colon_are_dropped_and_a_missing_blank_is_fine() -> None:
    (msg,) = feed_all(b"Event: X\r\nA:value\r\nB:  \t two\r\nC:\r\nD: x:y \r\n\r\n", banner=False)
    assert msg.headers == [("Event", "X"), ("A", "value"), ("B", "two"), ("C", ""), ("D", "x:y ")]
    assert [msg.get(k) for k in "ABCD"] == ["value", "two", "", "x:y "]


def test_a_line_without_colon_is_dropped() -> None:
    (msg,) = feed_all(b"Event: X\r\ngarbage line\r\nA: 1\r\n\r\n", banner=False)
    assert msg.headers == [("Event", "X"), ("A", "1")]


def test_stray_newline_ending_a_value_as_res_pjsip_sends_it() -> None:
    # Asterisk 22.10, checked: PJSIPShowEndpoint of a missing endpoint.
    raw = (
        b"Response: Error\r\nActionID: e2\r\nMessage: Unable to retrieve endpoint nosuch\n"
        b"\r\n\r\nResponse: Success\r\nActionID: p1\r\nPing: Pong\r\n\r\n"
    )
    first, second = feed_all(raw, banner=False)
    assert first["Message"] == "Unable to retrieve endpoint nosuch"
    assert first.headers[-1] == ("Message", "Unable to retrieve endpoint nosuch")
    assert second.headers == [("Response", "Success"), ("ActionID", "p1"), ("Ping", "Pong")]


def test_stray_newline_starting_a_line_or_inside_a_value() -> None:
    (msg,) = feed_all(b"\nEvent: X\r\n\nA: 1\r\nB: two\nlines\r\n\r\n", banner=False)
    assert msg.get("Event") == "X"
    assert msg.get("A") == "1"
    assert msg.get("B") == "two\nlines"
    assert msg.headers == [("Event", "X"), ("A", "1"), ("B", "two\nlines")]


def test_utf8_split_across_chunks() -> None:
    data = "Event: X\r\nCallerIDName: Иван Петров\r\n\r\n".encode()
    cut = data.index("Петров".encode()) + 1  # inside a two-byte character
    parser = Parser(banner=False)
    assert parser.feed(data[:cut]) == []
    (msg,) = parser.feed(data[cut:])
    assert msg["CallerIDName"] == "Иван Петров"


# -- redaction ----------------------------------------------------------------------------
AUTH_DETAIL = (
    b"Event: AuthDetail\r\nObjectName: novofon\r\nPassword: s3cr3t-pa55\r\n"
    b"Md5Cred: 0123abcd\r\nOauthSecret: oauth-s3cret\r\nUsername: 0627136\r\n\r\n"
)


def test_redacted_masks_secret_values_and_repr_never_shows_them() -> None:
    (msg,) = feed_all(AUTH_DETAIL, banner=False)
    assert msg["Password"] == "s3cr3t-pa55"  # the real value stays readable on purpose
    red = msg.redacted()
    assert red["Password"] == red["Md5Cred"] == red["OauthSecret"] == "********"
    assert red["Username"] == "0627136"
    for text in (repr(msg), repr(red), str(msg.to_dict())):
        assert "s3cr3t" not in text and "0123abcd" not in text


def test_to_dict_lists_repeated_keys() -> None:
    msg = Message.from_pairs([("Response", "Success"), ("Output", "a"), ("Output", "b")])
    assert msg.to_dict() == {"Response": "Success", "Output": ["a", "b"]}


# -- encoder ------------------------------------------------------------------------------
def test_encode_action_shape_and_value_types() -> None:
    data = encode_action(
        "Originate",
        [("Channel", "Local/1@x"), ("Async", True), ("Timeout", 20000), ("CallerID", None)],
    )
    assert data == (
        b"Action: Originate\r\nChannel: Local/1@x\r\nAsync: true\r\nTimeout: 20000\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Channel", "Local/1@x\r\nAction: Command"),
        ("Channel", "a\nb"),
        ("Channel", "a\rb"),
        ("Channel", "a\0b"),
        ("Chan\r\nnel", "Qv7-value"),
        ("Chan:nel", "Qv7-value"),
        ("", "Qv7-value"),
        (" Channel", "Qv7-value"),
        ("Action", "Command"),
    ],
)
def test_encode_action_refuses_what_would_smuggle_or_break_headers(key: str, value: str) -> None:
    with pytest.raises(BadInput) as info:
        encode_action("Originate", [(key, value)])
    assert value not in str(info.value.to_dict())  # a value may be a secret: never echoed


def test_encode_action_limits_line_length_and_header_count() -> None:
    encode_action("X", [("K", "v" * (1024 - len("K: \r\n")))])
    with pytest.raises(BadInput):
        encode_action("X", [("K", "v" * (1025 - len("K: \r\n")))])
    encode_action("X", [(f"H{i}", i) for i in range(127)])  # + Action = 128
    with pytest.raises(BadInput):
        encode_action("X", [(f"H{i}", i) for i in range(128)])


# -- properties ---------------------------------------------------------------------------
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
values = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=30).filter(
    lambda v: v[:1] not in (" ", "\t")
)
headers = st.lists(st.tuples(keys, values), min_size=1, max_size=12)
streams = st.lists(headers, min_size=1, max_size=8)


def wire(messages: list[list[tuple[str, str]]]) -> bytes:
    text = "".join("".join(f"{k}: {v}\r\n" for k, v in m) + "\r\n" for m in messages)
    return BANNER + text.encode()


@settings(max_examples=300, deadline=None)
@given(streams, st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_chunking_parses_like_one_chunk(
    messages: list[list[tuple[str, str]]], cuts: list[int]
) -> None:
    data = wire(messages)
    points = sorted({c % (len(data) + 1) for c in cuts})
    parser = Parser()
    out: list[Message] = []
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        out += parser.feed(data[start:end])
    assert [m.headers for m in out] == messages
    assert parser.banner == "11.0.0" and parser.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(str.isidentifier), headers)
def test_encode_then_parse_round_trips(action: str, pairs: list[tuple[str, str]]) -> None:
    pairs = [(k, v) for k, v in pairs if k.lower() != "action"]
    (msg,) = Parser(banner=False).feed(encode_action(action, pairs))
    assert msg.headers == [("Action", action), *pairs]


@settings(max_examples=300, deadline=None)
@given(headers, st.data())
def test_lazy_lookup_agrees_with_the_full_header_list(
    pairs: list[tuple[str, str]], data: st.DataObject
) -> None:
    # Spell some keys in another case and strew stray newlines where Asterisk leaves them.
    lines = []
    for key, value in pairs:
        key = data.draw(st.sampled_from([key, key.lower(), key.upper()]))
        lead = data.draw(st.sampled_from(["", "\n"]))
        tail = data.draw(st.sampled_from(["", "\n"]))
        lines.append((key, value, f"{lead}{key}: {value}{tail}"))
    raw = "\r\n".join(line for _, _, line in lines)
    expected = [(k, v) for k, v, _ in lines]
    probes = {k for k, _ in pairs} | {k.lower() for k, _ in pairs} | {"Absent-Key"}
    for probe in probes:
        exact = [v for k, v in expected if k == probe]
        folded = [v for k, v in expected if k.lower() == probe.lower()]
        want = exact[0] if exact else (folded[0] if folded else None)
        assert Message(raw).get(probe) == want, probe
    assert Message(raw).headers == expected


# -- a real Asterisk 22 stream ------------------------------------------------------------
def naive_read(data: bytes) -> list[list[tuple[str, str]]]:
    """A slow, obvious reader of the recorded stream, independent of the parser."""
    assert data.startswith(BANNER)
    out = []
    for block in data[len(BANNER) :].split(b"\r\n\r\n")[:-1]:
        pairs = []
        for line in block.decode().split("\r\n"):
            line = line.strip("\n")
            if ":" in line:
                key, value = line.split(":", 1)
                pairs.append((key, value.lstrip(" \t")))
        out.append(pairs)
    return out


def test_recorded_stream_parses_exactly_in_odd_chunks() -> None:
    data = DATA.read_bytes()
    expected = naive_read(data)
    parser = Parser()
    out: list[Message] = []
    for i in range(0, len(data), 1000):  # cuts land inside keys, values and CRLFs
        out += parser.feed(data[i : i + 1000])
    assert parser.banner == "11.0.0"
    assert len(out) == data.count(b"\r\n\r\n") == len(expected)
    assert [m.headers for m in out] == expected
    for msg, pairs in zip(out, expected, strict=True):
        assert msg.get("Event") == dict(reversed(pairs)).get("Event")


def test_recorded_stream_holds_what_the_tests_rely_on() -> None:
    msgs = feed_all(DATA.read_bytes())
    events = [m for m in msgs if m.event]
    assert msgs[0].headers == [
        ("Response", "Success"),
        ("ActionID", msgs[0]["ActionID"]),
        ("Message", "Authentication accepted"),
    ]
    # Every channel born is buried; Newchannel has an empty AccountCode; the CallIDChange
    # TestEvent ends with an empty header (what panoramisk loses).
    born = [m["Uniqueid"] for m in events if m.event == "Newchannel"]
    died = [m["Uniqueid"] for m in events if m.event == "Hangup"]
    assert born and sorted(born) == sorted(died)
    assert all(("AccountCode", "") in m.headers for m in events if m.event == "Newchannel")
    assert any(m.headers[-1] == ("PriorCallID", "") for m in events if m.event == "TestEvent")
    # TestEvent repeats State; Command output comes as Output lines; a stray "\n" error.
    assert any(len(m.get_all("State")) == 2 for m in events if m.event == "TestEvent")
    assert any(len(m.get_all("Output")) >= 3 for m in msgs)
    assert any(m.get("Message") == "Unable to retrieve endpoint no-such-endpoint" for m in msgs)
    # The recorder masked AuthDetail's password.
    auth = [m for m in events if m.event == "AuthDetail"]
    assert auth and all(m["Password"] == "********" for m in auth)
