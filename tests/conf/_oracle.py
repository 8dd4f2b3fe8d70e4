"""The sandbox Asterisk as an oracle for trunkctl.conf.resolve (tests/conf/test_differential.py).

AMI ``GetConfig`` is the exact oracle: main/manager.c action_getconfig() loads the file with
``CONFIG_FLAG_WITHCOMMENTS | CONFIG_FLAG_NOCACHE`` (read from disk on every call), skips
template categories (ast_category_browse_filtered() with an empty filter) and writes one
``Category-NNNNNN: name``, ``Templates-NNNNNN: a,b`` (only when there are any) and
``Line-NNNNNN-MMMMMM: key=value`` header per item, bytes as they are. ``GetConfigJSON`` is
not: it emits repeated keys and repeated section names as duplicate JSON object keys, which
every JSON reader collapses. Header values are taken from the raw bytes (the AMI client's
Message trims leading blanks and replaces undecodable bytes).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkctl.ami import AmiClient
from trunkctl.conf import ConfMissingError, resolve
from trunkctl.errors import AmiConnectionError, AmiTimeoutError, ConfParseError

# A file name or content holding UNIQ gets this run's unique prefix in its place, so that
# includes between generated files can name each other (includes are relative to the config
# dir, never to the including file).
UNIQ = "{uniq}"

# GetConfig's error messages (manager.c action_getconfig()) and the resolver's exceptions.
MISSING, INVALID = "missing", "invalid"
_AMI_ERRORS = {
    b"Config file not found": MISSING,
    b"Config file has invalid format": INVALID,
}
# Tries per question while other sandbox users reset or restart the pbx (0.5 s, 1 s, ... apart).
_ATTEMPTS = 5


@dataclass(frozen=True)
class Reading:
    """One reader's view of a file: ``Resolution.to_json()``-shaped sections, or a refusal."""

    sections: list[dict[str, Any]] | None
    error: str | None = None


def _text(raw: bytes) -> str:
    # The resolver hands names and values back as UTF-8 with surrogate escapes (_out()).
    return raw.decode("utf-8", "surrogateescape")


def parse_getconfig(block: bytes) -> Reading:
    """GetConfig's response (CRLF-joined header lines, no blank line) as a :class:`Reading`."""
    lines = block.split(b"\r\n")
    if lines[0] != b"Response: Success":
        message = next((v for k, _, v in (x.partition(b": ") for x in lines) if k == b"Message"))
        return Reading(None, _AMI_ERRORS[message])
    sections: list[dict[str, Any]] = []
    for line in lines[1:]:
        head, sep, value = line.partition(b": ")
        assert sep, line
        kind = head.split(b"-", 1)[0]
        if kind == b"Category":
            sections.append({"name": _text(value), "templates": [], "options": []})
        elif kind == b"Templates":
            sections[-1]["templates"] = [_text(t) for t in value.split(b",")]
        elif kind == b"Line":
            # "%s=%s": a name never holds '=' except as its first byte, which a leading
            # backslash may escape (process_text_line() searches '=' from cur + is_escaped).
            cut = value.index(b"=", 1)
            sections[-1]["options"].append([_text(value[:cut]), _text(value[cut + 1 :])])
        else:
            assert kind in (b"ActionID", b"IsTemplate"), line
    return Reading(sections)


def as_getconfig_sees(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``Resolution.to_json()`` reduced to what GetConfig can say: template names travel joined
    by ',' and an all-empty list is not sent at all."""
    out = []
    for sec in sections:
        joined = ",".join(sec["templates"])
        out.append({**sec, "templates": joined.split(",") if joined else []})
    return out


def read_with_trunkctl(name: str, config_dir: Path) -> Reading:
    """``trunkctl.conf.resolve`` as a :class:`Reading` (its refusals mapped to GetConfig's)."""
    try:
        got = resolve(name, config_dir=config_dir)
    except ConfMissingError:
        return Reading(None, MISSING)
    except ConfParseError:
        return Reading(None, INVALID)
    return Reading(as_getconfig_sees(got.to_json()))


@dataclass(frozen=True)
class Verdict:
    """Asterisk's and trunkctl's reading of the same files, taken while both were on disk."""

    asterisk: Reading
    trunkctl: Reading
    files: dict[str, bytes]

    @property
    def agree(self) -> bool:
        return self.asterisk == self.trunkctl


class Oracle:
    """One AMI session to the sandbox pbx, writing files into its config dir under unique names.

    Only files this oracle writes are touched, and each is removed after its question.
    """

    _counter = itertools.count()

    def __init__(self, config_dir: Path, host: str, port: int, username: str, secret: str) -> None:
        self.config_dir = config_dir
        self._raw = bytearray()
        self._ids = itertools.count()
        self.asked = 0
        self.retried = 0
        # keepalive off and no events: the raw stream then holds nothing but our responses.
        self._ami = AmiClient(
            host, port, username, secret, events=False, keepalive=None, raw_sink=self._raw.extend
        )

    async def __aenter__(self) -> Oracle:
        await self._ami.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ami.close()

    async def get_config(self, filename: str) -> Reading:
        """Ask GetConfig about ``filename`` (relative to the pbx config dir)."""
        action_id = f"trunkctl-diff-{os.getpid()}-{next(self._ids)}"
        self._raw.clear()
        await self._ami.action("GetConfig", Filename=filename, ActionID=action_id, check=False)
        self.asked += 1
        raw = bytes(self._raw)
        mark = raw.index(b"\r\nActionID: " + action_id.encode() + b"\r\n")
        start = raw.rindex(b"Response: ", 0, mark + 1)
        return parse_getconfig(raw[start : raw.index(b"\r\n\r\n", mark)])

    async def check(self, files: Mapping[str, bytes], main: str) -> Verdict:
        """Write ``files`` (relative names; UNIQ replaced), read ``main`` both ways, clean up.

        Other sandbox users may wipe the config dir (Sandbox.reset_pbx()) or restart the pbx
        at any moment: then the question is asked again, at most five times.
        """
        for attempt in range(_ATTEMPTS):
            if attempt:
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
            uniq = f"trunkctl-diff-{os.getpid()}-{next(self._counter)}"
            real = {
                name.replace(UNIQ, uniq): data.replace(UNIQ.encode(), uniq.encode())
                for name, data in files.items()
            }
            created = self._write(real)
            try:
                target = main.replace(UNIQ, uniq)
                try:
                    asterisk = await self.get_config(target)
                except (AmiConnectionError, AmiTimeoutError):
                    # Another sandbox user restarted the pbx; the client reconnects.
                    self.retried += 1
                    continue
                ours = read_with_trunkctl(target, self.config_dir)
                if self._intact(real):
                    return Verdict(asterisk, ours, real)
                self.retried += 1
            finally:
                self._remove(real, created)
        raise AssertionError(f"the pbx kept being reset or restarted under us ({_ATTEMPTS} tries)")

    def _write(self, files: Mapping[str, bytes]) -> list[Path]:
        created: list[Path] = []
        for name, data in files.items():
            path = self.config_dir / name
            for parent in reversed(path.relative_to(self.config_dir).parents[:-1]):
                folder = self.config_dir / parent
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            path.write_bytes(data)
        return created

    def _intact(self, files: Mapping[str, bytes]) -> bool:
        try:
            return all((self.config_dir / n).read_bytes() == d for n, d in files.items())
        except OSError:
            return False

    def _remove(self, files: Mapping[str, bytes], created: list[Path]) -> None:
        for name in files:
            (self.config_dir / name).unlink(missing_ok=True)
        for folder in reversed(created):
            shutil.rmtree(folder, ignore_errors=True)
