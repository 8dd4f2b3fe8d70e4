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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkctl.ami import AmiClient
from trunkctl.asterisk import ami_client, asterisk_rx, log_position, log_since
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
from ._status import outbound_registrations

__all__ = ["ApplyError", "ApplyResult", "Proof", "apply", "managed_objects"]

MODULES = (("res_pjsip.so", "module reload res_pjsip.so"), ("pbx_config.so", "dialplan reload"))
SNAPSHOT_DIR = "last-applied"


class ApplyError(TrunkctlError):
    """Asterisk refused the new configuration; the files were rolled back."""

    code = "apply_refused"


@dataclass(frozen=True, slots=True)
class Proof:
    """One object checked after the reload: loaded as written, or not (with why)."""

    kind: str
    name: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(slots=True)
class ApplyResult:
    """What apply did and proved."""

    reloaded: list[str] = field(default_factory=list)
    via: str = "ami"
    proofs: list[Proof] = field(default_factory=list)
    rolled_back: bool = False
    restored: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Registration name → what the fresh REGISTER after the reload ended as.
    registrations: dict[str, str] = field(default_factory=dict)
    notes: list[Text] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.proofs) and not self.rolled_back

    @property
    def registered(self) -> bool:
        """True unless a registration was refused or did not answer."""
        return all(v == "Registered" for v in self.registrations.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reloaded": self.reloaded,
            "via": self.via,
            "proofs": [p.to_dict() for p in self.proofs],
            "rolled_back": self.rolled_back,
            "restored": self.restored,
            "refused": self.refused,
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


async def _prove(
    ami: AmiClient,
    res: Resolution,
    objects: list[tuple[str, str]],
    contexts: list[str],
    stale_transports: list[str],
) -> list[Proof]:
    proofs: list[Proof] = []
    registrations: dict[str, dict[str, Any]] = {}
    if any(t == "registration" for _, t in objects):
        # None loaded ("No registrations found"): every registration then fails its proof.
        registrations = {
            name: ev.redacted().to_dict()
            for name, ev in (await outbound_registrations(ami)).items()
        }
    auths: dict[str, str] = {}
    passwords: dict[str, str] = {}
    aors: dict[str, str] = {}
    if any(t in ("auth", "aor") for _, t in objects):
        for action, fields in (
            ("PJSIPShowAuths", ((auths, "Username"), (passwords, "Password"))),
            ("PJSIPShowAors", ((aors, "Contacts"),)),
        ):
            try:
                found = await ami.list_action(action)
            except AmiActionError:
                continue
            for ev in found.events:
                if ev.get("ObjectName"):
                    for into, key in fields:
                        into[ev.get("ObjectName") or ""] = ev.get(key) or ""
    for name, type_ in objects:
        if type_ == "endpoint":
            proofs.append(await _prove_endpoint(ami, res, name, stale_transports))
        elif type_ == "registration":
            got = registrations.get(name)
            want = _expect(res, name, type_, "server_uri")
            if got is None:
                proofs.append(Proof(type_, name, False, "not loaded"))
            elif got.get("ServerUri") != want:
                proofs.append(
                    Proof(
                        type_,
                        name,
                        False,
                        f"server_uri loaded {got.get('ServerUri')!r}, file {want!r}",
                    )
                )
            else:
                proofs.append(Proof(type_, name, True, f"server_uri {want}"))
        elif type_ == "auth":
            want = _expect(res, name, type_, "username")
            got_user = auths.get(name)
            ok = got_user == want
            detail = (
                f"username {got_user!r}" if ok else f"username loaded {got_user!r}, file {want!r}"
            )
            secret = _expect(res, name, type_, "password")
            if (
                ok
                and secret
                and not hmac.compare_digest(passwords.get(name, "").encode(), secret.encode())
            ):
                # Same login, another password: Asterisk did not load this file (another
                # config directory?) or kept an old value. Neither password is shown.
                ok, detail = False, "password loaded differs from the file's (neither shown)"
            proofs.append(Proof(type_, name, ok, detail))
        elif type_ == "aor":
            want = _expect(res, name, type_, "contact")
            loaded = aors.get(name)
            ok = loaded is not None and (not want or want in loaded)
            proofs.append(
                Proof(
                    type_, name, ok, f"contacts {loaded!r}" if loaded is not None else "not loaded"
                )
            )
        else:
            proofs.append(Proof(type_, name, True, "checked with its endpoint"))
    for context in contexts:
        try:
            await ami.list_action("ShowDialPlan", Context=context)
            proofs.append(Proof("context", context, True, "in the dialplan"))
        except AmiActionError:
            proofs.append(Proof("context", context, False, "not in the loaded dialplan"))
    return proofs


async def _prove_endpoint(
    ami: AmiClient, res: Resolution, name: str, stale_transports: list[str]
) -> Proof:
    try:
        found = await ami.list_action("PJSIPShowEndpoint", Endpoint=name)
    except AmiActionError:
        return Proof("endpoint", name, False, "not loaded")
    detail = next((e for e in found.events if e.get("Event") == "EndpointDetail"), None)
    if detail is None:
        return Proof("endpoint", name, False, "not loaded")
    for key, field_ in (
        ("context", "Context"),
        ("outbound_auth", "OutboundAuth"),
        ("from_user", "FromUser"),
        ("aors", "Aors"),
    ):
        want = _expect(res, name, "endpoint", key)
        got = detail.get(field_) or ""
        if got != want:
            return Proof("endpoint", name, False, f"{key} loaded {got!r}, file {want!r}")
    return Proof("endpoint", name, True, f"context {detail.get('Context')}")


async def _reload(settings: Settings, ami: AmiClient | None, result: ApplyResult) -> None:
    for module, cli in MODULES:
        if ami is not None:
            await ami.action("Reload", Module=module, timeout=30)
        else:
            asterisk_rx(settings, cli, timeout=30)
        result.reloaded.append(module)


# Log lines that mean a reload refused (part of) our files; the rest (a missing optional
# pjsip_wizard.conf, say) is noise every stock install prints.
_REFUSAL_MARKERS = (
    "could not be loaded",
    "duplicate object",
    "Could not find option",
    "Error loading",
    "Unknown option",
    "is not valid for",
    "parse error",
)


def _refusals(res: Resolution, lines: list[str]) -> list[str]:
    """Why Asterisk refused the files: duplicates it must reject, and its own log lines."""
    found: list[str] = []
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
    # Only lines about the files this reload read (pjsip.conf and what it includes,
    # extensions.conf) or from the modules it reloaded: other modules log too.
    files = {Path(f).name for f in res.files} | {PJSIP, EXTENSIONS}
    sources = ("res_sorcery_config.c", "res_pjsip", "pbx_config.c", "sorcery.c")
    found += [
        ln
        for ln in lines
        if any(m in ln for m in _REFUSAL_MARKERS)
        and (
            any(f"/{f}" in ln or f"'{f}'" in ln or f" {f}" in ln for f in files)
            or any(src in ln for src in sources)
        )
    ]
    return found


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


async def apply(settings: Settings, *, reload: bool = True, prove: bool = True) -> ApplyResult:
    """Reload Asterisk's PJSIP and dialplan and prove trunkctl's objects loaded as written."""
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
            return result
        res = cfg.resolve(PJSIP)
        stale: list[str] = []
        result.proofs = await _prove(ami, res, objects, contexts, stale)
        # Asterisk 22 reloads a transport only partly ("not fully reloadable, not reloading:
        # protocol, bind, TLS" — res_pjsip/config_transport.c): if what is loaded still
        # differs from the file, only a restart applies it.
        for tname in dict.fromkeys(stale):
            result.notes.append(
                Text(
                    f"transport {tname}: Asterisk still runs it with the old settings (a "
                    "transport reloads only partly); run `asterisk -rx 'core restart "
                    "gracefully'` when no calls are up.",
                    f"транспорт {tname}: Asterisk работает со старыми настройками (транспорт "
                    "перечитывается лишь частично); выполните `asterisk -rx 'core restart "
                    "gracefully'`, когда нет разговоров.",
                )
            )
        if settings.log_file is not None:
            await asyncio.sleep(0.3)  # Asterisk's logger thread writes asynchronously
        result.refused = _refusals(res, log_since(settings, position))
        if all(p.ok for p in result.proofs) and not result.refused:
            _save_snapshot(cfg)
            if reload:
                await _register(ami, [n for n, t in objects if t == "registration"], result)
            return result
        _roll_back(cfg, result)
        if result.restored:
            await _reload(settings, ami, ApplyResult())
        raise _refused(result, settings.config_dir)
    finally:
        if ami is not None:
            with contextlib.suppress(AmiError):
                await ami.close()


def _refused(result: ApplyResult, config_dir: Path) -> ApplyError:
    bad = [f"{p.kind} {p.name}: {p.detail}" for p in result.proofs if not p.ok]
    evidence = "\n".join(bad + result.refused[-10:]) or "(no detail)"
    restored = ", ".join(result.restored) or "-"
    next_step = Text(
        f"Files restored: {restored}. Fix what the log lines above name (a duplicate "
        "section, an unknown option), then run `trunkctl doctor --offline` and "
        "`trunkctl apply` again.",
        f"Восстановлены файлы: {restored}. Исправьте то, что названо в строках журнала "
        "выше (повторяющаяся секция, неизвестный параметр), затем выполните "
        "`trunkctl doctor --offline` и снова `trunkctl apply`.",
    )
    if not result.refused:
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
