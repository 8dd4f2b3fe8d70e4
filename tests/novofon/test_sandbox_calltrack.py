"""The sandbox backend's pure parts: the dialplan twin and reading a call from AMI events.

Event sequences are the shapes the provider Asterisk 22 sent when these calls were placed
by hand (Originate Channel=<first> Application=Dial Data=<second>); the live calls are in
tests/novofon/test_sandbox_emulator.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from trunkctl.ami import Message
from trunkctl.novofon.emulator import CallRecord
from trunkctl.sandbox._emulator import EMULATOR_CONTEXT, CallTrack, emulator_dialplan

ID = "emu-0123456789ab"
T0 = 1_767_225_600.0


def ev(**headers: str) -> Message:
    return Message.from_pairs(headers.items())


def track(**kw: object) -> CallTrack:
    record = CallRecord(
        ID,
        "0053248",
        "79990000486",
        "74950000100",
        "x-1",
        "callapi",
        datetime.fromtimestamp(T0, UTC),
    )
    return CallTrack(record, **kw)  # type: ignore[arg-type]


def first_leg_answers(name: str = "PJSIP/0053248-00000001") -> list[Message]:
    return [
        ev(Event="Newchannel", Channel=name, Uniqueid=ID, Linkedid=ID),
        ev(Event="Newstate", Channel=name, ChannelStateDesc="Up", Uniqueid=ID, Linkedid=ID),
        ev(Event="OriginateResponse", Response="Success", Reason="4", Uniqueid=ID),
    ]


def second_leg(status: str, cause: str) -> list[Message]:
    second = "provider-1.2"
    return [
        ev(Event="Newchannel", Channel="Local/x@c-1;1", Uniqueid=second, Linkedid=ID),
        ev(Event="Newchannel", Channel="Local/x@c-1;2", Uniqueid="provider-1.3", Linkedid=ID),
        ev(Event="DialEnd", Uniqueid=ID, Linkedid=ID, DestUniqueid=second, DialStatus=status),
        ev(Event="Hangup", Uniqueid=second, Linkedid=ID, Cause=cause),
        ev(Event="Hangup", Uniqueid="provider-1.3", Linkedid=ID, Cause=cause),
    ]


def response(outcome: str, reason: str) -> Message:
    return ev(Event="OriginateResponse", Response=outcome, Reason=reason, Uniqueid=ID)


def run(t: CallTrack, events: list[Message]) -> bool:
    done = False
    for i, msg in enumerate(events):
        done = t.feed(msg, T0 + i)
    return done


def test_dialplan_twin_swaps_pjsiphangup_for_its_q850_cause() -> None:
    rows = emulator_dialplan()
    by_number = {(exten, prio): (app, data) for exten, prio, app, data in rows}
    # res_pjsip's ast_sip_hangup_sip2cause(): 486→17, 404→1, 403→21, 503→34.
    assert by_number[("79990000486", 3)] == ("Hangup", "17")
    assert by_number[("79990000404", 1)] == ("Hangup", "1")
    assert by_number[("79990000403", 1)] == ("Hangup", "21")
    assert by_number[("79990000503", 1)] == ("Hangup", "34")
    assert by_number[("79990000200", 2)] == ("Playback", "hello-world")
    assert by_number[("_X.", 1)] == ("Hangup", "1")
    assert by_number[("_+X.", 1)] == ("Goto", EMULATOR_CONTEXT + ",${EXTEN:1},1")
    assert not any("PJSIPHangup" in app for _, _, app, _ in rows)


def test_answered_call() -> None:
    t = track()
    events = first_leg_answers() + second_leg("ANSWER", "16")
    events.append(ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="16"))
    assert run(t, events)
    done = t.finish(T0 + 10)
    assert (done.disposition, done.finish_reason) == ("answered", "subscriber_disconnects")
    # DialEnd ANSWER is the sixth event (T0 + 5): talk runs from there to the end.
    assert done.answered is not None and done.talk_seconds == 10 - 5


def test_busy_second_leg() -> None:
    t = track()
    events = first_leg_answers() + second_leg("BUSY", "17")
    assert not run(t, events)  # the first leg is still up
    assert t.feed(ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="17"), T0 + 9)
    done = t.finish(T0 + 9)
    assert (done.disposition, done.finish_reason, done.answered) == (
        "busy",
        "subscriber_busy",
        None,
    )


def test_unallocated_second_leg() -> None:
    t = track()
    run(t, [*first_leg_answers(), *second_leg("CHANUNAVAIL", "1")])
    assert t.finish(T0 + 5).disposition == "unallocated number"


def test_first_leg_hung_up_before_the_second_answered_is_cancel() -> None:
    t = track()
    events = first_leg_answers()
    events.append(ev(Event="DialEnd", Uniqueid=ID, DestUniqueid="p.2", DialStatus="CANCEL"))
    events.append(ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="16"))
    assert run(t, events)
    assert t.finish(T0 + 3).disposition == "cancel"


def test_offline_line_is_sip_offline() -> None:
    t = track(first_is_line=True, line_registered=False)
    # PJSIP/<line> with no contact: no channel at all, only the OriginateResponse. The
    # backend waits a grace for a channel whose Newchannel is late, then settles.
    assert not t.feed(response("Failure", "0"), T0)
    assert t.settling and t.settle()
    done = t.finish(T0)
    assert (done.disposition, done.finish_reason) == ("failed", "sip_offline")


def test_first_leg_busy_and_no_answer() -> None:
    busy = track()
    run(
        busy,
        [
            ev(Event="Newchannel", Channel="PJSIP/a-1", Uniqueid=ID, Linkedid=ID),
            ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="17"),
            ev(Event="OriginateResponse", Response="Failure", Reason="5", Uniqueid=ID),
        ],
    )
    assert busy.finish(T0).disposition == "busy"
    silent = track()
    run(silent, [ev(Event="OriginateResponse", Response="Failure", Reason="3", Uniqueid=ID)])
    assert silent.finish(T0).disposition == "no answer"


def test_lost_connection_ends_the_call_as_failed() -> None:
    t = track()
    run(t, first_leg_answers())
    done = t.finish(T0 + 1, lost=True)
    assert (done.disposition, done.finish_reason) == ("failed", "internal_error")


def test_snapshot_shows_the_answer_before_the_end() -> None:
    t = track()
    run(t, [*first_leg_answers(), *second_leg("ANSWER", "16")[:3]])
    assert t.snapshot().answered is not None and t.snapshot().finished is None
    assert t.first_channel == "PJSIP/0053248-00000001"


def test_a_response_overtaking_the_first_newchannel_does_not_end_the_call() -> None:
    # Seen in CI: a first leg that answers within a millisecond; OriginateResponse (written
    # to AMI directly) came before the Stasis-delivered Newchannel of that leg.
    t = track()
    assert not t.feed(response("Success", "4"), T0)
    assert not t.settling
    events = [
        ev(Event="Newchannel", Channel="Local/79990000200@e-1;1", Uniqueid=ID, Linkedid=ID),
        ev(Event="Newstate", ChannelStateDesc="Up", Uniqueid=ID, Linkedid=ID),
        *second_leg("ANSWER", "16"),
    ]
    assert not run(t, events)
    assert t.feed(ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="16"), T0 + 9)
    assert t.finish(T0 + 9).disposition == "answered"


def test_a_failure_overtaking_its_channel_waits_for_the_channel() -> None:
    t = track()
    assert not t.feed(response("Failure", "5"), T0)
    assert t.settling
    # The late Newchannel arrives within the grace: now its Hangup decides.
    assert not t.feed(ev(Event="Newchannel", Channel="PJSIP/a-1", Uniqueid=ID, Linkedid=ID), T0)
    assert not t.settling and not t.settle()
    assert t.feed(ev(Event="Hangup", Uniqueid=ID, Linkedid=ID, Cause="17"), T0 + 1)
    assert t.finish(T0 + 1).disposition == "busy"
