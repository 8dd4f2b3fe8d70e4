"""The support bundle: the message, the facts, doctor and probe JSON, masked config excerpts
(and a traced call's ladder and pcap).

A tar.gz written 0600 and atomically (temp file, fsync, rename). Config excerpts are the
trunk's sections as Asterisk reads them, secret options shown as ``********``
(trunkctl.conf's masking). Then every member is scrubbed of every secret value the config
dir and the settings hold, wherever it appears, and checked once more: a bundle that would
still contain one is never written.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from trunkctl.conf import (
    MASK,
    ConfMissingError,
    Resolution,
    ResolvedSection,
    is_secret_key,
    resolve,
)
from trunkctl.errors import BadInput, ConfParseError, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.settings import Settings

from ._config import TrunkFacts

__all__ = [
    "Bundle",
    "BundleError",
    "collect_secrets",
    "config_excerpts",
    "scrub",
    "write_bundle",
]

_SHORT: Final = 4  # shorter secrets are replaced only as whole words
# Dialplan keys written `key => value` (object syntax), as extensions.conf writes them.
_OBJECT_KEYS: Final = frozenset({"exten", "same", "include", "switch", "ignorepat"})
_SECRET_FILES: Final = ("pjsip.conf", "manager.conf", "ari.conf", "http.conf", "iax.conf")


def _resolve(name: str, config_dir: Path) -> Resolution | None:
    try:
        return resolve(name, config_dir=config_dir)
    except (ConfMissingError, ConfParseError):
        return None


def collect_secrets(settings: Settings) -> set[str]:
    """Every secret value trunkctl can know: config-dir credentials and the AMI secret."""
    found: set[str] = set()
    for name in _SECRET_FILES:
        res = _resolve(name, settings.config_dir)
        if res is None:
            continue
        for sec in (*res.sections, *res.templates):
            found.update(v for k, v in sec.options if is_secret_key(k) and v.strip())
    try:
        ami = settings.ami.read_secret()
    except BadInput:
        ami = ""
    if ami:
        found.add(ami)
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``********``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _SHORT:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", MASK, text)
    return text


def _render(sec: ResolvedSection, config_dir: Path) -> str:
    try:
        where = f"{Path(sec.file).relative_to(config_dir)}:{sec.line}"
    except ValueError:
        where = f"{Path(sec.file).name}:{sec.line}"
    lines = [f"; {where}", f"[{sec.name}]"]
    for key, value in sec.options:
        shown = MASK if is_secret_key(key) and value else value
        op = "=>" if key.lower() in _OBJECT_KEYS else "="
        lines.append(f"{' ' if key.lower() == 'same' else ''}{key} {op} {shown}")
    return "\n".join(lines) + "\n"


def _pjsip_sections(res: Resolution, trunk: TrunkFacts) -> list[ResolvedSection]:
    name = trunk.name.lower()
    chosen = [
        s
        for s in res.sections
        if s.name.lower() == name or (s.get("endpoint") or "").lower() == name
    ]
    wanted: set[str] = set()
    for sec in chosen:
        for key in ("transport", "aors", "outbound_auth", "auth"):
            wanted.update(p.strip().lower() for p in (sec.get(key) or "").split(",") if p.strip())
    for sec in res.sections:
        if sec.name.lower() in wanted and sec not in chosen:
            chosen.append(sec)
    return sorted(chosen, key=lambda s: (s.file, s.line))


def config_excerpts(settings: Settings, trunk: TrunkFacts) -> dict[str, str]:
    """``pjsip.conf`` (the trunk's objects and their transport) and ``extensions.conf``
    (the outgoing and inbound contexts), as Asterisk reads them, secrets masked."""
    out: dict[str, str] = {}
    head = "; trunkctl support bundle: as Asterisk reads it (templates applied), secrets masked\n"
    pjsip = _resolve("pjsip.conf", settings.config_dir)
    if pjsip is not None:
        parts = [_render(s, settings.config_dir) for s in _pjsip_sections(pjsip, trunk)]
        out["pjsip.conf"] = head + "\n".join(parts)
    ext = _resolve("extensions.conf", settings.config_dir)
    if ext is not None:
        names = {n.lower() for n in (trunk.outgoing_context, trunk.inbound_context) if n}
        parts = [_render(s, settings.config_dir) for s in ext.sections if s.name.lower() in names]
        out["extensions.conf"] = head + "\n".join(parts)
    return out


@dataclass(frozen=True, slots=True)
class Bundle:
    """A written bundle: where, and which members it holds."""

    path: Path
    members: tuple[str, ...]
    size: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {"path": str(self.path), "members": list(self.members), "size": self.size}


class BundleError(TrunkctlError):
    """The bundle could not be written (or would have held a secret)."""

    code = "bundle"


def _json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"


def write_bundle(
    path: str | os.PathLike[str],
    files: Mapping[str, str | bytes | Mapping[str, Any] | list[Any]],
    *,
    secrets: Iterable[str],
    folder: str = "trunkctl-support",
) -> Bundle:
    """Write ``files`` (name → text, bytes or JSON-ready data) as a 0600 tar.gz at ``path``.

    Every text member is scrubbed of ``secrets`` and checked again; bytes (a pcap, whose
    lengths a replacement would break) must come scrubbed and are checked. Raises
    BundleError (and writes nothing) if a secret would remain, or if the file cannot be
    written.
    """
    target = Path(path)
    known = {s for s in secrets if s}
    members: dict[str, bytes] = {}
    for name, content in files.items():
        if isinstance(content, bytes):
            clean_bytes = content
            left = any(len(s) >= _SHORT and s.encode("utf-8") in content for s in known)
        else:
            text = content if isinstance(content, str) else _json(content)
            clean = scrub(text, known)
            clean_bytes = clean.encode("utf-8")
            left = any(len(s) >= _SHORT and s in clean for s in known)
        if left:
            raise BundleError(
                Text("a secret survived masking", "секрет остался после маскирования"),
                evidence=Text(f"member {name}", f"файл {name}"),
                next_step=Text(
                    "Nothing was written; please report this as a trunkctl bug.",
                    "Ничего не записано; сообщите об этом как об ошибке trunkctl.",
                ),
            )
        members[f"{folder}/{name}"] = clean_bytes
    now = time.time()
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".trunkctl-bundle-", dir=target.parent)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as raw:
            fd = -1
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for name, data in members.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = len(data), int(now), 0o600
                    tar.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        Path(tmp).replace(target)
        tmp = ""
    except OSError as exc:
        raise BundleError(
            Text("cannot write the support bundle", "не удаётся записать архив для поддержки"),
            evidence=f"{target}: {exc.strerror or exc}",
            next_step=Text(
                "Pick a writable place, e.g. --bundle /tmp/novofon-support.tar.gz.",
                "Укажите доступное для записи место, например --bundle "
                "/tmp/novofon-support.tar.gz.",
            ),
        ) from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    return Bundle(target, tuple(members), target.stat().st_size)
