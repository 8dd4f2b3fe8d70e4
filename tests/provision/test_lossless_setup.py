"""setup / credentials set never lose, move or reorder a line trunkctl does not own (issue 11).

Runs the provision layer on a temporary config dir (no Asterisk needed); the document
model's lead-in rule is tested in tests/conf/test_lossless_document.py, and setup against
the real sandbox pbx in test_setup_apply.py. The user's lines are computed from the
original text before any operation, never from trunkctl's own ownership detection.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from trunkctl.conf import ConfigDir
from trunkctl.errors import TrunkctlError
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import plan_credentials, plan_setup
from trunkctl.secret import Secret
from trunkctl.settings import sandbox_dir

PROFILE = PROFILES["novofon"].with_server("127.0.0.1", 5060, None)
TRUNK_TYPES = ("auth", "aor", "endpoint", "registration", "identify")
CONTEXTS = ("outgoing", "from-novofon")


# --- operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    mode: str = "registration"
    caller_id: str | None = None
    force: bool = False
    login: str = "0012345"


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str


Op = Setup | Credentials


def run(folder: Path, op: Op) -> bool:
    """Run one operation as the CLI does; True if it wrote (conflicts write nothing)."""
    cfg = ConfigDir(folder)
    with cfg.transaction() as tx:
        if isinstance(op, Setup):
            registration = op.mode == "registration"
            spec = TrunkSpec(
                profile=PROFILE,
                mode="registration" if registration else "ip",
                login=op.login if registration else None,
                password=Secret("Pw-12345678") if registration else None,
                caller_id=op.caller_id,
            )
            plan = plan_setup(tx, render_trunk(spec), force=op.force)
            if plan.conflicts and not op.force:
                return False
        else:
            try:
                plan_credentials(tx, trunk="novofon", login=op.login, password=Secret(op.password))
            except TrunkctlError:
                # No trunk yet (or IP mode), or the [novofon] sections are the user's own
                # (refused as a conflict): nothing to change.
                return False
        tx.commit()
    return True


# --- the check: a line-level subsequence, from the original text ---------------------------


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _is_blank(line: str) -> bool:
    return not line.strip()


_LOOSE = "<a run of blank lines>"


def _wanted(original: Sequence[str], protected: Sequence[bool]) -> list[tuple[int, str]]:
    """The protected lines to find, in order, as (original index, text).

    One allowance, documented in docs/conf.md: when trunkctl removes a section (one it
    wrote, or one --force handed it) that stood between two runs of blank lines, the runs
    meet and keep the longer one's length. Protected blank lines with only such lines
    between them are therefore one item, ``_LOOSE``, that any blank line matches.
    """
    out: list[tuple[int, str]] = []
    taken_between = False
    for i, (line, keep) in enumerate(zip(original, protected, strict=True)):
        if not keep:
            taken_between = True
            continue
        if (
            taken_between
            and _is_blank(line)
            and out
            and (out[-1][1] is _LOOSE or _is_blank(out[-1][1]))
        ):
            out[-1] = (out[-1][0], _LOOSE)
        else:
            out.append((i, line))
        taken_between = False
    return out


def assert_kept(original: Sequence[str], protected: Sequence[bool], now: str, what: str) -> None:
    """Every protected original line is in ``now``, in the same order (greedy subsequence).

    The original last line may gain a line ending when text is added after it.
    """
    current = lines_of(now)
    j = 0
    last = len(original) - 1
    # A file without a final newline keeps that when trunkctl's lines go after or before
    # its last line: whichever line ends the file then has no line ending.
    no_final_eol = bool(original) and not original[-1].endswith("\n")
    for i, line in _wanted(original, protected):
        bare = i == last and not line.endswith("\n")
        while j < len(current) and not (
            current[j] == line
            or (line is _LOOSE and _is_blank(current[j]))
            or (bare and current[j].rstrip("\r\n") == line)
            or (no_final_eol and j == len(current) - 1 and current[j] == line.rstrip("\r\n"))
        ):
            j += 1
        assert j < len(current), f"{what}: line {i + 1} {line!r} lost or moved\n{now}"
        j += 1


def write(folder: Path, pjsip: str, extensions: str) -> None:
    (folder / "pjsip.conf").write_bytes(pjsip.encode("utf-8", "surrogateescape"))
    (folder / "extensions.conf").write_bytes(extensions.encode("utf-8", "surrogateescape"))


def read(folder: Path, name: str) -> str:
    return (folder / name).read_bytes().decode("utf-8", "surrogateescape")


# --- random user files --------------------------------------------------------------------

COMMENTS = [
    "; a note about what follows",
    ";exten => 100,1,NoOp(an old line)",
    ";==== OUTBOUND ====",
    "  ; indented note",
    ";type=endpoint",
    ";",
    ";-- a one-line block comment --;",
    "; calls from the office",
]
BLANK_LINES = ["", "   ", "\t"]
DIRECTIVES = ['#tryinclude "extra.conf"', "#include extra_users.conf"]
PJSIP_NAMES = ["novofon", "alice", "transport-udp", "office", "NovoFon"]
PJSIP_TYPES = ["endpoint", "aor", "auth", "registration", "identify", "transport", None]
# Templates, appends and inheritance: "(+)" continues a section, "(!)" is a template.
SUFFIX = st.sampled_from(["", "", "", "(!)", "(+)", "(tpl)", "  ; note on the header"])
DIAL_NAMES = ["outgoing", "from-novofon", "from-internal", "default", "globals"]


@dataclass
class UserFile:
    lines: list[str]  # each with its line ending
    protected: list[bool]

    @property
    def text(self) -> str:
        return "".join(self.lines)


@st.composite
def trivia(draw: st.DrawFn) -> list[str]:
    """Comment, blank and directive lines (a multi-line block comment now and then)."""
    out: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["comment", "comment", "blank", "blank", "directive", "block"]))
        if kind == "comment":
            out.append(draw(st.sampled_from(COMMENTS)))
        elif kind == "blank":
            out.append(draw(st.sampled_from(BLANK_LINES)))
        elif kind == "directive":
            out.append(draw(st.sampled_from(DIRECTIVES)))
        else:
            out += [";-- disabled:", "[old-trunk]", "type=endpoint", "--;"]
    return out


@st.composite
def user_file(draw: st.DrawFn, dialplan: bool) -> UserFile:
    """A user's pjsip.conf or extensions.conf; the lines setup may change are unprotected.

    Only sections trunkctl would claim, (trunk name, trunk type) in pjsip.conf or a
    context of the trunk's name in extensions.conf, may have their header and options
    changed (by --force or credentials set); their comments stay protected too.
    """
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    mixed = draw(st.booleans()) and draw(st.booleans())
    lines: list[str] = []
    protected: list[bool] = []

    def put(text: str, keep: bool = True) -> None:
        end = draw(st.sampled_from(["\n", "\r\n"])) if mixed else eol
        lines.append(text + end)
        protected.append(keep)

    for t in draw(trivia()):
        put(t)
    for _ in range(draw(st.integers(0, 5))):
        if dialplan:
            name = draw(st.sampled_from(DIAL_NAMES))
            claimed = name in CONTEXTS
            for t in draw(trivia()):
                put(t)
            put(f"[{name}]{draw(SUFFIX)}", not claimed)
            for _ in range(draw(st.integers(0, 3))):
                opt = draw(
                    st.sampled_from(
                        [
                            "exten => 100,1,Dial(PJSIP/100)",
                            " same => n,Hangup()",
                            "include => demo",
                            "exten=>s,1,Stasis(bot)",
                        ]
                    )
                )
                put(opt, not claimed)
                for t in draw(trivia()):
                    put(t)
        else:
            name = draw(st.sampled_from(PJSIP_NAMES))
            type_ = draw(st.sampled_from(PJSIP_TYPES))
            claimed = name.lower() == "novofon" and type_ in TRUNK_TYPES
            sep = draw(st.sampled_from(["=", " = "]))
            for t in draw(trivia()):
                put(t)
            put(f"[{name}]{draw(SUFFIX)}", not claimed)
            opts = [f"type{sep}{type_}"] if type_ else []
            if type_ == "transport":
                opts += [f"protocol{sep}udp", f"bind{sep}0.0.0.0:5060"]
            opts += draw(
                st.lists(
                    st.sampled_from(
                        [f"context{sep}from-internal", f"allow{sep}ulaw", f"username{sep}me"]
                    ),
                    max_size=2,
                )
            )
            for opt in opts:
                put(opt, not claimed)
                for t in draw(trivia()):
                    put(t)
    if lines and lines[-1].rstrip("\r\n") and draw(st.booleans()):
        lines[-1] = lines[-1].rstrip("\r\n")  # no final newline
    return UserFile(lines, protected)


OPS = st.one_of(
    st.builds(
        Setup,
        mode=st.sampled_from(["registration", "registration", "ip"]),
        caller_id=st.sampled_from([None, "79581114585", "79581114586", "74951234567"]),
        force=st.booleans(),
        login=st.sampled_from(["0012345", "0054321"]),
    ),
    st.builds(
        Credentials,
        login=st.sampled_from(["0012345", "0099999"]),
        password=st.sampled_from(["Pw-12345678", "Other-pass-99"]),
    ),
)


def comments_above_markers(text: str) -> dict[str, int]:
    """For each trunkctl marker line: how many other comment lines are above it.

    trunkctl writes no comment but its markers, so every other comment is the user's; a
    count that changes means a trunkctl section moved relative to the user's lines.
    """
    out: dict[str, int] = {}
    seen = 0
    for line in lines_of(text):
        body = line.strip()
        if body.startswith("; trunkctl:"):
            out[body] = seen
        elif body.startswith(";"):
            seen += 1
    return out


def check_sequence(pjsip: UserFile, dialplan: UserFile, ops: Sequence[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(folder, pjsip.text, dialplan.text)
        wrote = 0
        for n, op in enumerate(ops, 1):
            before = {name: read(folder, name) for name in ("pjsip.conf", "extensions.conf")}
            wrote += run(folder, op)
            for name, user in (("pjsip.conf", pjsip), ("extensions.conf", dialplan)):
                now = read(folder, name)
                what = f"{name} op {n} {op}"
                assert_kept(user.lines, user.protected, now, what)
                old, new = comments_above_markers(before[name]), comments_above_markers(now)
                moved = {m: (old[m], new[m]) for m in old.keys() & new.keys() if old[m] != new[m]}
                assert not moved, f"{what}: trunkctl sections moved: {moved}\n{now}"
        event(f"operations that wrote: {wrote} of {len(ops)}")


PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@PROPERTY
@given(user_file(dialplan=False), user_file(dialplan=True), st.lists(OPS, min_size=1, max_size=5))
def test_random_user_files_keep_every_line_of_theirs(
    pjsip: UserFile, dialplan: UserFile, ops: list[Op]
) -> None:
    check_sequence(pjsip, dialplan, ops)


# --- Debian's stock files -----------------------------------------------------------------


def stock_dir() -> Path:
    """The sandbox root's /etc/asterisk: the asterisk package's own sample files."""
    folder = sandbox_dir() / "root" / "etc" / "asterisk"
    assert (folder / "extensions.conf").is_file(), (
        f"no stock Debian config in {folder}: build the sandbox root first (trunkctl sandbox up)"
    )
    return folder


def stock(name: str) -> UserFile:
    lines = lines_of((stock_dir() / name).read_bytes().decode("utf-8", "surrogateescape"))
    return UserFile(lines, [True] * len(lines))


# Stock files used as pjsip.conf / extensions.conf: the real ones, and others of the same
# shape (long comment headers, commented-out sections, templates) as if they were.
STOCK_PJSIP = ["pjsip.conf", "pjsip_wizard.conf", "iax.conf", "manager.conf"]
STOCK_DIALPLAN = ["extensions.conf", "extensions.ael", "features.conf"]


@pytest.mark.slow
@settings(PROPERTY, max_examples=80)
@given(
    st.sampled_from(STOCK_PJSIP),
    st.sampled_from(STOCK_DIALPLAN),
    st.lists(OPS, min_size=1, max_size=4),
)
def test_stock_debian_files_keep_every_line(pjsip: str, dialplan: str, ops: list[Op]) -> None:
    check_sequence(stock(pjsip), stock(dialplan), ops)


# --- deterministic regressions ------------------------------------------------------------

MINIMAL_DIALPLAN = (
    "[general]\nstatic=yes\n\n"
    "[from-internal]\nexten => 100,1,Dial(PJSIP/100)\n; keep me: the first\n; keep me: the second\n"
)


def test_three_caller_id_changes_keep_the_two_trailing_comments(tmp_path: Path) -> None:
    write(
        tmp_path, "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n", MINIMAL_DIALPLAN
    )
    for caller_id in ("79581114585", "79581114586", "79581114587"):
        assert run(tmp_path, Setup(caller_id=caller_id))
    text = read(tmp_path, "extensions.conf")
    assert text.startswith(MINIMAL_DIALPLAN)
    assert text.count("; keep me:") == 2
    assert "Set(CALLERID(num)=79581114587)" in text and "79581114585" not in text


def test_stock_extensions_conf_setup_runs_move_and_lose_nothing(tmp_path: Path) -> None:
    stock_ext = read(stock_dir(), "extensions.conf")
    stock_pjsip = read(stock_dir(), "pjsip.conf")
    write(tmp_path, stock_pjsip, stock_ext)
    runs = [
        Setup(),
        Setup(caller_id="79581114585"),
        Setup(caller_id="79581114586", login="0054321"),
        Setup(mode="ip"),
        Setup(caller_id="79581114585"),
        Setup(caller_id="79581114585"),
    ]
    where: int | None = None
    for op in runs:
        assert run(tmp_path, op)
        text = read(tmp_path, "extensions.conf")
        lines = lines_of(text)
        # The stock file stays whole and first: trunkctl only appends after it.
        assert text.startswith(stock_ext), op
        at = lines.index("[outgoing]\n")
        assert where is None or at == where, f"[outgoing] moved from line {where} to {at}"
        where = at
        assert_kept(
            lines_of(stock_pjsip),
            [True] * len(lines_of(stock_pjsip)),
            read(tmp_path, "pjsip.conf"),
            "pjsip.conf",
        )
    assert read(tmp_path, "pjsip.conf").startswith(stock_pjsip)


def test_a_changed_context_is_rewritten_where_it_stands(tmp_path: Path) -> None:
    write(tmp_path, "", "[from-internal]\nexten => 100,1,Dial(PJSIP/100)\n")
    assert run(tmp_path, Setup(caller_id="79581114585"))
    first = read(tmp_path, "extensions.conf")
    # The user adds a context after trunkctl's and a note inside [outgoing].
    edited = (
        first.replace("[outgoing]\n", "[outgoing]\n; my note\n")
        + "\n[later]\nexten => 1,1,NoOp()\n"
    )
    (tmp_path / "extensions.conf").write_text(edited)
    assert run(tmp_path, Setup(caller_id="79581114586"))
    assert read(tmp_path, "extensions.conf") == edited.replace("79581114585", "79581114586")


def test_switching_to_ip_mode_removes_only_trunkctl_lines(tmp_path: Path) -> None:
    user = (
        "; my pjsip\n\n[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n"
        "; trailing note\n"
    )
    write(tmp_path, user, "")
    assert run(tmp_path, Setup())
    text = read(tmp_path, "pjsip.conf")
    # The user comments on trunkctl's registration; going to IP mode removes the section
    # and its marker, not the comment.
    marked = text.replace(
        "; trunkctl: novofon registration",
        "; ask the provider before changing\n; trunkctl: novofon registration",
    )
    (tmp_path / "pjsip.conf").write_text(marked)
    assert run(tmp_path, Setup(mode="ip"))
    after = read(tmp_path, "pjsip.conf")
    assert "type=registration" not in after and "type=auth" not in after
    assert "; ask the provider before changing\n" in after
    assert after.startswith(user)
    assert "trunkctl: novofon registration" not in after
    # Back and forth does not grow the file.
    assert run(tmp_path, Setup())
    assert run(tmp_path, Setup(mode="ip"))
    assert read(tmp_path, "pjsip.conf") == after


def test_conflict_report_cites_the_lines_as_read(tmp_path: Path) -> None:
    pjsip = (
        "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n\n"
        "[novofon]\ntype=aor\ncontact=sip:x\n\n"
        "[novofon]\ntype=endpoint\ncontext=mine\n"
    )
    write(tmp_path, pjsip, "\n\n[outgoing]\nexten => 1,1,NoOp()\n")
    cfg = ConfigDir(tmp_path)
    spec = TrunkSpec(
        profile=PROFILE, mode="registration", login="0012345", password=Secret("Pw-12345678")
    )
    with cfg.transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec))
    got = [c.describe() for c in plan.conflicts]
    assert got == [
        "pjsip.conf:6: [novofon] (type=aor)",
        "pjsip.conf:10: [novofon] (type=endpoint)",
        "extensions.conf:3: [outgoing]",
    ]


def test_a_users_odd_blank_line_survives_the_removal_of_the_section_it_led_into(
    tmp_path: Path,
) -> None:
    # Found by the property test: in a CRLF file whose last line is a lone LF blank, the
    # first trunkctl section took that blank as its lead-in; switching to IP mode removed
    # the section and the blank with it, leaving trunkctl's own CRLF separator instead.
    original = "[udp]\r\ntype=transport\r\nprotocol=udp\r\nbind=0.0.0.0:5060\r\n\n"
    write(tmp_path, original, "")
    assert run(tmp_path, Setup(mode="registration"))
    assert run(tmp_path, Setup(mode="ip"))
    assert read(tmp_path, "pjsip.conf").startswith(original)


def test_an_empty_line_that_comes_to_end_a_file_without_final_newline_stays(
    tmp_path: Path,
) -> None:
    # Found by the property test: the file's last line (no newline) was an option of the
    # user's [outgoing], taken with --force; the empty line above it then ended the file,
    # lost its ending to keep "no final newline", and with it the whole line.
    dialplan = (
        "[outgoing](+)\nexten => 100,1,Dial(PJSIP/100)\n"
        "[outgoing]\nexten => 100,1,Dial(PJSIP/100)\n; a\n same => n,Hangup()\n; b\n\r\n"
        "exten => 100,1,Dial(PJSIP/100)"
    )
    write(tmp_path, "", dialplan)
    assert run(tmp_path, Setup(mode="ip", caller_id="79581114586", force=True))
    now = read(tmp_path, "extensions.conf")
    assert "; b\n\r\n" in now, now


def test_a_blank_line_inside_a_forced_section_outlives_its_removal(tmp_path: Path) -> None:
    # Found by the property test: the user's own [novofon] auth, with a blank line between
    # its options, taken by --force and removed by a switch to IP mode, took the blank along.
    pjsip = "[novofon]\ntype=auth\n\ncontext=from-internal\n[novofon]\ntype=endpoint\n"
    write(tmp_path, pjsip, "")
    assert run(tmp_path, Setup(force=True))
    assert run(tmp_path, Setup(mode="ip"))
    assert_kept(
        lines_of(pjsip),
        [False, False, True, False, False, False],
        read(tmp_path, "pjsip.conf"),
        "pjsip.conf",
    )


def test_every_blank_line_between_a_forced_sections_options_stays(tmp_path: Path) -> None:
    pjsip = "[novofon]\ntype=auth\n\n\n\r\ncontext=a\n\r\ncontext=b\n[novofon]\ntype=endpoint\n"
    write(tmp_path, pjsip, "")
    assert run(tmp_path, Setup(force=True))
    assert run(tmp_path, Setup(mode="ip"))
    keep = [False, False, True, True, True, False, True, False, False, False]
    assert_kept(lines_of(pjsip), keep, read(tmp_path, "pjsip.conf"), "pjsip.conf")
