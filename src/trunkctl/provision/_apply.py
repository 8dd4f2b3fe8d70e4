"""Apply: reload Asterisk, prove every trunkctl object loaded, roll back when refused.

Asterisk reports a refused pjsip.conf only in its log (a duplicate (name, type) fails the
whole type and keeps the old objects loaded; an unknown option drops that object), so the
proof compares what AMI shows loaded with what the files say. When they differ the files go
back to the last configuration Asterisk accepted (kept in ``.trunkctl-backups/last-applied``)
or, before any successful apply, to trunkctl's newest backup, and Asterisk reloads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkctl.ami import AmiClient
from trunkctl.asterisk import (
    ConfigComplaint,
    ami_client,
    asterisk_rx,
    config_complaints,
    log_position,
    log_since,
)
from trunkctl.conf import ConfigDir, Resolution, atomic_write
from trunkctl.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiError,
    BadInput,
    TrunkctlError,
)
from trunkctl.i18n import Text
from trunkctl.settings import Settings

from ._plan import EXTENSIONS, PJSIP, owner_at
from ._status import _SAFE_NAME, endpoint_fields, getvar, outbound_registrations

__all__ = ["ApplyError", "ApplyResult", "Proof", "apply", "managed_objects"]

MODULES = (("res_pjsip.so", "module reload res_pjsip.so"), ("pbx_config.so", "dialplan reload"))
SNAPSHOT_DIR = "last-applied"
LAST_RESULT = "last-apply.json"  # in the backup dir: the last proved apply's outcome


class ApplyError(TrunkctlError):
    """Asterisk refused the new configuration; the files were rolled back."""

    code = "apply_refused"


@dataclass(frozen=True, slots=True)
class Proof:
    """One object checked after the reload: loaded as written, or not (with why).

    ``restart`` marks a difference only a restart of Asterisk removes (a transport's bind or
    protocol): the files are right, the running Asterisk is not using them yet.
    """

    kind: str
    name: str
    ok: bool
    detail: str = ""
    restart: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "restart": self.restart,
        }


@dataclass(slots=True)
class ApplyResult:
    """What apply did and proved."""

    reloaded: list[str] = field(default_factory=list)
    via: str = "ami"
    proofs: list[Proof] = field(default_factory=list)
    rolled_back: bool = False
    restored: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # The raw Asterisk log lines the refusals above were read from.
    log_lines: list[str] = field(default_factory=list)
    # Settings Asterisk keeps until a restart ("transport transport-udp: bind …").
    needs_restart: list[str] = field(default_factory=list)
    # Registration name → what the fresh REGISTER after the reload ended as.
    registrations: dict[str, str] = field(default_factory=dict)
    notes: list[Text] = field(default_factory=list)
    snapshot_saved: bool = False

    @property
    def ok(self) -> bool:
        """Everything loaded as written: no refusal, no rollback, no pending restart."""
        return (
            all(p.ok for p in self.proofs)
            and not self.rolled_back
            and not self.refused
            and not self.needs_restart
        )

    @property
    def outcome(self) -> str:
        """``applied``, ``needs_restart`` (files right, Asterisk runs the old transport) or
        ``refused`` (rolled back, or not proven)."""
        if self.ok:
            return "applied"
        if (
            self.needs_restart
            and not self.rolled_back
            and not self.refused
            and all(p.ok or p.restart for p in self.proofs)
        ):
            return "needs_restart"
        return "refused"

    @property
    def restart_step(self) -> Text | None:
        """For ``needs_restart``: which setting waits, how to restart and prove it (also in
        ``notes``); None for the other outcomes."""
        return _restart_note(self.needs_restart) if self.outcome == "needs_restart" else None

    @property
    def registered(self) -> bool:
        """True unless a registration was refused or did not answer."""
        return all(v == "Registered" for v in self.registrations.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "outcome": self.outcome,
            "reloaded": self.reloaded,
            "via": self.via,
            "proofs": [p.to_dict() for p in self.proofs],
            "rolled_back": self.rolled_back,
            "restored": self.restored,
            "refused": self.refused,
            "log_lines": self.log_lines,
            "needs_restart": self.needs_restart,
            "snapshot_saved": self.snapshot_saved,
            "registrations": self.registrations,
            "notes": [n.render() for n in self.notes],
        }


def managed_objects(cfg: ConfigDir) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, type) of every pjsip section and every context trunkctl's markers claim."""
    objects: list[tuple[str, str]] = []
    pjsip = cfg.read(PJSIP, missing_ok=True)
    for i, sec in enumerate(pjsip.sections_):
        if sec.type and sec.type != "transport" and owner_at(pjsip, i):
            objects.append((sec.name, sec.type))
    contexts: list[str] = []
    dialplan = cfg.read(EXTENSIONS, missing_ok=True)
    for i, sec in enumerate(dialplan.sections_):
        if owner_at(dialplan, i):
            contexts.append(sec.name)
    return objects, contexts


def _expect(res: Resolution, name: str, type_: str, key: str) -> str:
    sec = res.find(name, type_)
    return (sec.get(key) or "") if sec else ""


def _names(value: str) -> list[str]:
    """A comma-separated list option (``outbound_auth``, ``aors``) as Asterisk splits it."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _bind_key(bind: str, protocol: str) -> tuple[str, int] | None:
    """``bind`` as (address, port) with Asterisk's default port; None when not an address."""
    value = bind.strip()
    host, port = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        return None
    default = 5061 if protocol.lower() in ("tls", "wss") else 5060
    try:
        return address, int(port) if port else default
    except ValueError:
        return None


@dataclass(slots=True)
class _Loaded:
    """What AMI shows loaded, fetched once per proof."""

    auths: dict[str, dict[str, str]] = field(default_factory=dict)
    # False when the AMI user may not list every auth (no ``system`` class): an auth
    # missing from the registrations' AuthDetail is then not proven missing.
    all_auths: bool = False
    registrations: dict[str, dict[str, str]] = field(default_factory=dict)
    transports_proved: set[str] = field(default_factory=set)


def _auth_of(ev: Any) -> dict[str, str]:
    # Asterisk 22 shows the password in clear: it is kept for a constant-time comparison
    # and never rendered.
    return {"Username": ev.get("Username") or "", "Password": ev.get("Password") or ""}


async def _loaded(ami: AmiClient, objects: list[tuple[str, str]]) -> _Loaded:
    """Registrations and the auths they use (PJSIPShowRegistrationsOutbound: class
    ``reporting``); every auth too when the user may list them (PJSIPShowAuths: ``system``,
    which trunkctl's own user does not get)."""
    found = _Loaded()
    try:
        listed = await ami.list_action("PJSIPShowRegistrationsOutbound")
        events = listed.events
    except AmiActionError:
        events = []  # Asterisk answers an empty list with "No registrations found"
    for ev in events:
        name = ev.get("ObjectName") or ""
        if ev.get("Event") == "OutboundRegistrationDetail":
            found.registrations[name] = {
                k: str(v) for k, v in ev.to_dict().items() if k.lower() != "password"
            }
        elif ev.get("Event") == "AuthDetail" and name:
            found.auths[name] = _auth_of(ev)
    try:
        auths = await ami.list_action("PJSIPShowAuths")
        found.all_auths = True
        for ev in auths.events:
            if ev.get("ObjectName"):
                found.auths[ev.get("ObjectName") or ""] = _auth_of(ev)
    except AmiActionError:
        found.all_auths = True  # "No Auths found": none is loaded
    except AmiError:
        pass  # not permitted: only the registrations' auths are known
    return found


def _auth_targets(kind: str, name: str, value: str, loaded: _Loaded) -> Proof | None:
    """A failing proof when an ``outbound_auth`` names an auth Asterisk has not loaded."""
    missing = [a for a in _names(value) if a not in loaded.auths]
    if not missing or (not loaded.all_auths and kind != "registration"):
        return None
    return Proof(
        kind,
        name,
        False,
        f"outbound_auth {', '.join(missing)}: no such auth is loaded (Asterisk: "
        f"\"Auth object '{missing[0]}' could not be found\"; it cannot answer the "
        "provider's challenge)",
    )


async def _prove(
    ami: AmiClient,
    settings: Settings,
    res: Resolution,
    objects: list[tuple[str, str]],
    contexts: list[str],
) -> list[Proof]:
    proofs: list[Proof] = []
    loaded = await _loaded(ami, objects)
    for name, type_ in objects:
        if type_ == "endpoint":
            proofs += await _prove_endpoint(ami, settings, res, name, loaded)
        elif type_ == "registration":
            proofs.append(_prove_registration(res, name, loaded))
        elif type_ == "auth":
            proofs.append(_prove_auth(res, name, loaded))
        elif type_ == "aor":
            proofs.append(await _prove_aor(ami, res, name))
        else:
            proofs.append(Proof(type_, name, True, "checked with its endpoint"))
    for context in contexts:
        try:
            await ami.list_action("ShowDialPlan", Context=context)
            proofs.append(Proof("context", context, True, "in the dialplan"))
        except AmiActionError:
            proofs.append(Proof("context", context, False, "not in the loaded dialplan"))
    return proofs


async def _prove_aor(ami: AmiClient, res: Resolution, name: str) -> Proof:
    """The aor is loaded (PJSIP_AOR: its minimum_expiration is never empty) with the
    file's contact."""
    if not _SAFE_NAME.match(name) or not await getvar(ami, f"PJSIP_AOR({name},minimum_expiration)"):
        return Proof("aor", name, False, "not loaded")
    want = _expect(res, name, "aor", "contact")
    ids = [c.strip() for c in (await getvar(ami, f"PJSIP_AOR({name},contact)")).split(",")]
    uris = [await getvar(ami, f"PJSIP_CONTACT({cid},uri)") for cid in ids if _SAFE_NAME.match(cid)]
    if want and want not in uris:
        return Proof("aor", name, False, f"contacts loaded {uris!r}, file {want!r}")
    return Proof("aor", name, True, f"contacts {', '.join(uris) or '-'}")


def _prove_auth(res: Resolution, name: str, loaded: _Loaded) -> Proof:
    want = _expect(res, name, "auth", "username")
    got = loaded.auths.get(name)
    if got is None:
        if not loaded.all_auths:
            # Not used by a registration and not listable with this AMI user's classes.
            return Proof("auth", name, True, "checked through its registration, if any")
        return Proof("auth", name, False, "not loaded")
    ok = got["Username"] == want
    detail = (
        f"username {got['Username']!r}"
        if ok
        else f"username loaded {got['Username']!r}, file {want!r}"
    )
    secret = _expect(res, name, "auth", "password")
    if ok and secret and not hmac.compare_digest(got["Password"].encode(), secret.encode()):
        # Same login, another password: Asterisk did not load this file (another config
        # directory?) or kept an old value. Neither password is shown.
        ok, detail = False, "password loaded differs from the file's (neither shown)"
    elif ok and secret:
        detail += ", password as in the file (not shown)"
    return Proof("auth", name, ok, detail)


def _prove_registration(res: Resolution, name: str, loaded: _Loaded) -> Proof:
    got = loaded.registrations.get(name)
    if got is None:
        return Proof("registration", name, False, "not loaded")
    for key, field_ in (
        ("server_uri", "ServerUri"),
        ("client_uri", "ClientUri"),
        ("outbound_auth", "OutboundAuth"),
        ("transport", "Transport"),
    ):
        want = _expect(res, name, "registration", key)
        have = got.get(field_) or ""
        if key in ("transport", "outbound_auth") and not want:
            continue
        if have != want:
            return Proof("registration", name, False, f"{key} loaded {have!r}, file {want!r}")
    dangling = _auth_targets("registration", name, got.get("OutboundAuth") or "", loaded)
    if dangling is not None:
        return dangling
    return Proof("registration", name, True, f"server_uri {got.get('ServerUri')}")


async def _prove_endpoint(
    ami: AmiClient, settings: Settings, res: Resolution, name: str, loaded: _Loaded
) -> list[Proof]:
    keys = ("context", "outbound_auth", "from_user", "aors", "transport")
    fields = await endpoint_fields(ami, name, keys)
    if fields is None:
        return [Proof("endpoint", name, False, "not loaded")]
    for key in keys:
        want = _expect(res, name, "endpoint", key)
        got = fields.get(key) or ""
        if key == "transport" and not want:
            continue
        # Lists: Asterisk gives "a,b" for the file's "a, b".
        listed = key in ("outbound_auth", "aors")
        if (_names(got) != _names(want)) if listed else got != want:
            return [Proof("endpoint", name, False, f"{key} loaded {got!r}, file {want!r}")]
    dangling = _auth_targets("endpoint", name, fields["outbound_auth"], loaded)
    proofs = [dangling or Proof("endpoint", name, True, f"context {fields['context']}")]
    transport = _expect(res, name, "endpoint", "transport")
    if transport and transport not in loaded.transports_proved:
        loaded.transports_proved.add(transport)
        proofs.append(_prove_transport(settings, res, transport))
    return proofs


# `pjsip show transport NAME`: " bind   : 127.0.0.2:5060" (the running value).
_CLI_FIELD = re.compile(r"^\s*(?P<key>bind|protocol)\s*:\s*(?P<value>\S*)\s*$", re.MULTILINE)


def _running_transport(settings: Settings, name: str) -> dict[str, str] | None:
    """The running transport's bind and protocol over the control socket (AMI shows a
    transport only to a user with the ``system`` class); {} when it is not running; None
    when the control socket is out of reach."""
    if not _SAFE_NAME.match(name):
        return None
    try:
        out = asterisk_rx(settings, f"pjsip show transport {name}", timeout=10)
    except TrunkctlError:
        return None
    if "Unable to find object" in out:
        return {}
    return {m["key"]: m["value"] for m in _CLI_FIELD.finditer(out)}


def _prove_transport(settings: Settings, res: Resolution, name: str) -> Proof:
    """The endpoint's transport runs on the file's bind and protocol (else: not started, or
    only a restart applies the change)."""
    sec = res.find(name, "transport")
    if sec is None:
        return Proof("transport", name, False, "not in the files")
    shown = _running_transport(settings, name)
    if shown is None:
        return Proof(
            "transport", name, True, "running bind not read (no control socket: not root?)"
        )
    if not shown:
        return Proof(
            "transport",
            name,
            False,
            f"not running: Asterisk could not start it on {sec.get('bind') or '?'} (the "
            "address is not on this host, or another program holds the port)",
        )
    want_proto = (sec.get("protocol") or "udp").lower()
    got_proto = (shown.get("protocol") or "").lower()
    want_bind = sec.get("bind") or ""
    got_bind = shown.get("bind") or ""
    if got_proto and got_proto != want_proto:
        return _restart_proof(name, "protocol", got_proto, want_proto)
    want_key, got_key = _bind_key(want_bind, want_proto), _bind_key(got_bind, got_proto)
    if want_key is not None and got_key is not None and want_key != got_key:
        return _restart_proof(name, "bind", got_bind, want_bind)
    return Proof("transport", name, True, f"bind {got_bind}")


def _restart_proof(name: str, option: str, got: str, want: str) -> Proof:
    return Proof(
        "transport",
        name,
        False,
        f"{option} loaded {got}, file {want}: Asterisk changes a transport's {option} only "
        "on a restart",
        restart=True,
    )


async def _reload(settings: Settings, ami: AmiClient | None, result: ApplyResult) -> None:
    """Reload through the control socket (root; trunkctl's AMI user has neither ``system``
    nor ``config``, the classes AMI Reload needs); AMI Reload when the socket is out of
    reach and the user may."""
    for module, cli in MODULES:
        try:
            asterisk_rx(settings, cli, timeout=30)
            result.via = "cli"
        except TrunkctlError:
            if ami is None:
                raise
            await ami.action("Reload", Module=module, timeout=30)
            result.via = "ami"
        result.reloaded.append(module)


def _where(res: Resolution, c: ConfigComplaint) -> str:
    """``file:line`` of what a complaint names, from the files (the log's file name may be
    empty: config_options.c logs "at line 39 of " on Asterisk 22)."""
    for sec in res.sections:
        if sec.name != c.name or (c.type and (sec.get("type") or "") != c.type):
            continue
        if c.kind != "unknown_option":
            return f"{Path(sec.file).name}:{sec.line}"
        if sec.get(c.option) is not None:
            return f"{Path(sec.file).name}:{c.line or sec.line}"
    return f"{c.file or PJSIP}:{c.line}" if c.line else (c.file or PJSIP)


def _summary(res: Resolution, c: ConfigComplaint) -> str:
    where = _where(res, c)
    if c.kind == "unknown_option":
        return (
            f"{where}: [{c.name}] has an option Asterisk does not know: {c.option!r} "
            "(the object is not created; an old one, if any, stays loaded)"
        )
    if c.kind == "object_refused":
        return f"{where}: Asterisk did not create {c.type} {c.name!r}"
    if c.kind == "duplicate_object":
        return (
            f"{where}: duplicate {c.type} {c.name!r}: Asterisk refuses every {c.type} of "
            "the file and keeps the old ones"
        )
    if c.kind == "missing_auth":
        return f"an outbound_auth names auth {c.name!r}, which is not loaded"
    if c.kind == "transport_failed":
        return f"{where}: transport {c.name!r} did not start: {c.option}"
    return f"{where}: {c.log_line}"


def _refusals(
    res: Resolution, complaints: list[ConfigComplaint], ours: set[str]
) -> tuple[list[str], list[str], list[Text]]:
    """(refusals, their log lines, notes) for a reload.

    Duplicates in the files are refusals on their own (Asterisk must reject them). A log
    complaint refuses the reload when it is about an object trunkctl wrote or uses (``ours``)
    or refuses a whole type; about another object, it is a note (the user's own problem,
    not a reason to undo trunkctl's change).
    """
    found: list[str] = []
    lines: list[str] = []
    notes: list[Text] = []
    seen: dict[tuple[str, str], str] = {}
    for sec in res.sections:
        key = (sec.name.lower(), (sec.get("type") or "").lower())
        where = f"{Path(sec.file).name}:{sec.line}"
        if key[1] and key in seen:
            found.append(
                f"{where}: duplicate [{sec.name}] type={key[1]} "
                f"(first at {seen[key]}): Asterisk rejects every {key[1]}"
            )
        seen.setdefault(key, where)
    # An auth no section names in outbound_auth any more is one a reload removed on
    # purpose (`setup --mode ip`): the old registration's last REGISTER, sent as it is torn
    # down, logs "Auth object … could not be found" — not a refusal of the files.
    named = {n for sec in res.sections for n in _names(sec.get("outbound_auth") or "")}
    done: set[tuple[str, str, str]] = set()
    for c in complaints:
        if not c.refusal or (c.kind == "missing_auth" and c.name not in named):
            continue
        key3 = (c.kind, c.name, c.type)
        if key3 in done:
            continue
        done.add(key3)
        summary = _summary(res, c)
        if c.kind == "duplicate_object" or c.name in ours:
            if summary not in found:
                found.append(summary)
            lines.append(c.log_line)
        else:
            notes.append(
                Text(
                    f"Asterisk also refused something trunkctl did not write: {summary} "
                    f"(log: {c.log_line})",
                    f"Asterisk также отверг то, что писал не trunkctl: {summary} "
                    f"(журнал: {c.log_line})",
                )
            )
    return found, lines, notes


async def _register(
    ami: AmiClient, names: list[str], result: ApplyResult, timeout: float = 8.0
) -> None:
    """Send a fresh REGISTER for each registration and wait for its outcome.

    A reload that changes only the password keeps the old binding until it expires, so
    without this a wrong password would look "Registered" for minutes.

    A ``Registry`` event does not name its registration object, and a registration the
    reload removed or replaced (same URIs, older password) may still report its own last
    REGISTER: each event's status is therefore checked against the named registration's
    own ``Status`` before it counts (a stale "Rejected" seen under load, then "Registered"
    a second later).
    """
    loop = asyncio.get_running_loop()
    for name in names:
        sub = ami.subscribe({"Event": "Registry"})
        try:
            with contextlib.suppress(AmiActionError):
                await ami.action("PJSIPUnregister", Registration=name)
            await ami.action("PJSIPRegister", Registration=name)
            deadline = loop.time() + timeout
            outcome = "NoAnswer"
            while (left := deadline - loop.time()) > 0:
                try:
                    ev = await sub.get(timeout=left)
                except AmiError:
                    break
                status = ev.get("Status") or ""
                if not status or status == "Unregistered":
                    continue
                own = await _registration_status(ami, name)
                if own in (None, status):
                    outcome = status
                    break
            if outcome == "NoAnswer":
                # No event we could trust in time: the registration's own word, if final.
                own = await _registration_status(ami, name)
                if own in ("Registered", "Rejected"):
                    outcome = own
            result.registrations[name] = outcome
        finally:
            sub.close()


async def _registration_status(ami: AmiClient, name: str) -> str | None:
    """The named outbound registration's ``Status`` now (None when it cannot be read)."""
    try:
        ev = (await outbound_registrations(ami)).get(name)
    except AmiError:
        return None
    return ev.get("Status") if ev is not None else None


def _snapshot_dir(cfg: ConfigDir) -> Path:
    return cfg.backup_dir / SNAPSHOT_DIR


def _save_snapshot(cfg: ConfigDir) -> None:
    """Remember the files Asterisk accepted (0600, atomic) for the next rollback."""
    folder = _snapshot_dir(cfg)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in (PJSIP, EXTENSIONS):
        data = cfg.read_bytes(name)
        if data is None:
            continue
        atomic_write(folder / name, data, mode=0o600, force_mode=True)


def _record(cfg: ConfigDir, result: ApplyResult) -> None:
    """Write ``last-apply.json`` (0600, atomic) in the backup dir: the outcome of this
    proved apply, success or not, for the exporter. Failing to write it is a note, never a
    reason to fail the apply."""
    data = {
        "ok": result.ok,
        "outcome": result.outcome,
        "at": round(time.time(), 3),  # Unix time, seconds
        "rolled_back": result.rolled_back,
        "registrations": result.registrations,
    }
    try:
        cfg.backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(
            cfg.backup_dir / LAST_RESULT,
            (json.dumps(data, indent=2) + "\n").encode(),
            mode=0o600,
            force_mode=True,
        )
    except (OSError, TrunkctlError) as exc:
        result.notes.append(
            Text(
                f"the outcome was not recorded in {cfg.backup_dir / LAST_RESULT} ({exc}); "
                "the exporter shows the previous one",
                f"итог не записан в {cfg.backup_dir / LAST_RESULT} ({exc}); экспортёр "
                "покажет предыдущий",
            )
        )


def _roll_back(cfg: ConfigDir, result: ApplyResult) -> None:
    for name in (PJSIP, EXTENSIONS):
        snapshot = _snapshot_dir(cfg) / name
        current = cfg.read_bytes(name)
        if snapshot.is_file():
            good = snapshot.read_bytes()
            if good != current:
                cfg.write(name, good)  # backs up the refused version first
                result.restored.append(name)
        elif cfg.backups(name):
            cfg.restore(name)
            result.restored.append(name)
    result.rolled_back = True


def _ours(res: Resolution, objects: list[tuple[str, str]]) -> set[str]:
    """Names a log complaint may give that make it about trunkctl's trunk: its objects,
    the transports and auths they name."""
    names = {name for name, _ in objects}
    for name, type_ in objects:
        if type_ in ("endpoint", "registration"):
            names.add(_expect(res, name, type_, "transport"))
            names.update(_names(_expect(res, name, type_, "outbound_auth")))
    names.discard("")
    return names


def _restart_note(what: list[str]) -> Text:
    listed = "; ".join(what)
    return Text(
        f"Asterisk keeps running the old setting until it restarts ({listed}). The files are "
        "right and were kept. Restart it when no calls are up: `asterisk -rx 'core restart "
        "gracefully'` (or `systemctl restart asterisk`), then run `trunkctl apply --no-reload` "
        "to prove it.",
        f"Asterisk продолжит работать со старым значением до перезапуска ({listed}). Файлы "
        "верны и оставлены. Перезапустите его, когда нет разговоров: `asterisk -rx 'core "
        "restart gracefully'` (или `systemctl restart asterisk`), затем выполните "
        "`trunkctl apply --no-reload`, чтобы это подтвердить.",
    )


async def apply(settings: Settings, *, reload: bool = True, prove: bool = True) -> ApplyResult:
    """Reload Asterisk's PJSIP and dialplan and prove trunkctl's objects loaded as written.

    Outcomes: every proof passed (the files are saved as the last accepted configuration);
    a transport change only a restart applies (``needs_restart``: files kept, nothing
    saved, ``ok`` false); anything else refused (files rolled back, :class:`ApplyError`).
    Each proved run (not ``prove=False``) records its outcome in ``last-apply.json``.
    """
    cfg = ConfigDir(settings.config_dir)
    result = ApplyResult()
    objects, contexts = managed_objects(cfg)
    position = log_position(settings)
    try:
        ami: AmiClient | None = ami_client(settings, events=("system",))
        await ami.connect()  # type: ignore[union-attr]
    except (AmiConnectionError, BadInput):
        # No AMI configured or reachable: reload through the control socket, prove nothing.
        ami, result.via = None, "cli"
    try:
        if reload:
            await _reload(settings, ami, result)
        if not prove:
            return result
        if ami is None:
            result.proofs.append(
                Proof("ami", settings.ami.host, False, "no AMI: cannot prove what loaded")
            )
            _record(cfg, result)
            return result
        res = cfg.resolve(PJSIP)
        result.proofs = await _prove(ami, settings, res, objects, contexts)
        if settings.log_file is not None:
            await asyncio.sleep(0.3)  # Asterisk's logger thread writes asynchronously
        complaints = config_complaints(
            log_since(settings, position, levels=("ERROR", "WARNING", "NOTICE"))
        )
        result.refused, result.log_lines, notes = _refusals(res, complaints, _ours(res, objects))
        result.notes += notes
        # Asterisk 22 reloads a transport only partly: on any change of one it logs "not
        # fully reloadable, not reloading: protocol, bind, TLS …" (also when only its
        # reloadable external addresses changed), so the running bind and protocol, read
        # back from AMI, decide whether only a restart applies the file.
        restart = [f"transport {p.name}: {p.detail}" for p in result.proofs if p.restart]
        result.needs_restart = list(dict.fromkeys(restart))
        hard = [p for p in result.proofs if not p.ok and not p.restart]
        if not hard and not result.refused:
            if result.needs_restart:
                result.notes.append(_restart_note(result.needs_restart))
            else:
                _save_snapshot(cfg)
                result.snapshot_saved = True
            if reload:
                await _register(ami, [n for n, t in objects if t == "registration"], result)
            _record(cfg, result)
            return result
        _roll_back(cfg, result)
        if result.restored:
            await _reload(settings, ami, ApplyResult())
        _record(cfg, result)
        raise _refused(result, settings.config_dir)
    finally:
        if ami is not None:
            with contextlib.suppress(AmiError):
                await ami.close()


def _refused(result: ApplyResult, config_dir: Path) -> ApplyError:
    bad = [f"{p.kind} {p.name}: {p.detail}" for p in result.proofs if not p.ok]
    logged = [f"log: {line}" for line in result.log_lines[-10:]]
    evidence = "\n".join(bad + result.refused[-10:] + logged) or "(no detail)"
    restored = ", ".join(result.restored) or "-"
    next_step = Text(
        f"Files restored: {restored}. Fix what the lines above name, then run "
        "`trunkctl doctor --offline` and `trunkctl apply` again.",
        f"Восстановлены файлы: {restored}. Исправьте то, что названо в строках выше, затем "
        "выполните `trunkctl doctor --offline` и снова `trunkctl apply`.",
    )
    explained = any(
        "outbound_auth" in p.detail or p.kind == "transport" or p.detail == "not loaded"
        for p in result.proofs
        if not p.ok
    )
    if not result.refused and not explained:
        # Asterisk logged no complaint yet holds other values: it reads another directory.
        next_step = next_step + Text(
            " No log line names a problem: check that the settings' config_dir "
            f"({config_dir}) is the directory Asterisk reads "
            "(`asterisk -rx 'core show settings'`, Configuration directory).",
            " В журнале нет жалоб: проверьте, что config_dir в настройках "
            f"({config_dir}) — тот каталог, который читает Asterisk "
            "(`asterisk -rx 'core show settings'`, Configuration directory).",
        )
    return ApplyError(
        Text(
            "Asterisk did not load the configuration as written; rolled back",
            "Asterisk не загрузил конфигурацию в записанном виде; изменения откатаны",
        ),
        evidence=evidence,
        next_step=next_step,
        result=result.to_dict(),
    )
