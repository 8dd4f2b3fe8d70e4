"""SIP messages: parse bytes into requests/responses and build them back (RFC 3261 §7, §18.3).

Why hand-written: no kept Python library parses SIP without bringing a whole stack (pjsua2
has no PyPI wheels; aiosip is unmaintained; sipsimple is tied to its own runtime). A probe
needs little: start line, headers with compact forms, comma lists, Via parameters and
Content-Length framing, and it must survive garbage. This module is pure (no I/O, no
asyncio): bytes in, messages or :class:`SipParseError` out.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from trunkctl.i18n import Text

from ._errors import SipParseError

__all__ = [
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "StreamParser",
    "Via",
    "canonical_name",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_message",
    "parse_params",
    "split_list",
]

SIP_VERSION = "SIP/2.0"
# RFC 3261 §8.1.1.7: a branch starting with this cookie marks an RFC 3261 transaction id.
BRANCH_COOKIE = "z9hG4bK"

# Generous limits: a REGISTER answer is ~1 KiB, a UDP datagram at most 64 KiB.
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
MAX_EVIDENCE = 512

# RFC 3261 §7.3.3 and §20, plus the later RFCs' compact forms (3265, 3515, 3841, 3892,
# 4028, 4474, 6086).
_COMPACT = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
_KNOWN = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Path",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Reason",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Allow-Events",
    "Event",
    "Session-Expires",
]
_CANONICAL = {name.lower(): name for name in _KNOWN}
_CANONICAL.update(_COMPACT)

# RFC 3261 §7.3.1: these may be combined with commas on one line. The authentication
# headers are the stated exception: their parameters contain commas.
_LIST_HEADERS = frozenset(
    [
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
        "path",
    ]
)


def canonical_name(name: str) -> str:
    """The header's full, conventionally cased name (``v`` → ``Via``, ``call-id`` → ``Call-ID``)."""
    return _CANONICAL.get(name.lower(), name)


def new_branch() -> str:
    """A fresh RFC 3261 branch (``z9hG4bK`` + 80 random bits)."""
    return BRANCH_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To tag."""
    return secrets.token_hex(6)


def new_call_id() -> str:
    """A fresh, globally unique Call-ID."""
    return secrets.token_hex(12) + "@trunkctl"


def _scan_quoted(text: str, start: int) -> int:
    """Index just past the quoted-string that opens at ``start`` (backslash escapes)."""
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return n


def split_list(value: str) -> list[str]:
    """Split a comma list, keeping commas inside quotes and ``<...>`` (Contact URIs)."""
    items: list[str] = []
    start = i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == '"':
            i = _scan_quoted(value, i)
            continue
        if ch == "<":
            end = value.find(">", i)
            i = n if end < 0 else end + 1
            continue
        if ch == ",":
            items.append(value[start:i].strip())
            start = i + 1
        i += 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` rejects."""
    return text.isascii() and text.isdigit()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        chars = iter(inner)
        for ch in chars:
            out.append(next(chars, "") if ch == "\\" else ch)
        return "".join(out)
    return value


def parse_params(text: str) -> tuple[tuple[str, str | None], ...]:
    """``;a=1;rport;b="x"`` → ``(("a", "1"), ("rport", None), ("b", "x"))``, names lowercased."""
    params: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        params.append((name.strip().lower(), _unquote(value.strip()) if eq else None))
    return tuple(params)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via entry: ``SIP/2.0/UDP host:port;params`` (RFC 3261 §20.42, RFC 3581 rport)."""

    transport: str
    host: str
    port: int | None
    params: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, value: str) -> Via:
        """Parse one Via value; raises :class:`SipParseError` if it is not one."""
        head, _, param_text = value.partition(";")
        # The grammar allows LWS around the slashes: "SIP / 2.0 / UDP".
        protocol, _, sent_by = " ".join(head.split()).replace(" / ", "/").partition(" ")
        parts = protocol.split("/")
        if len(parts) != 3 or parts[0].upper() != "SIP" or not sent_by:
            raise SipParseError(
                Text("A Via header is malformed.", "Заголовок Via искажён."),
                evidence=Text(value[:200], value[:200]),
                raw=value.encode("utf-8", "replace"),
            )
        host, port = _split_host_port(sent_by.strip())
        return cls(parts[2].upper(), host, port, parse_params(param_text))

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (last one with a value wins), else None."""
        found: str | None = None
        for key, value in self.params:
            if key == name and value is not None:
                found = value
        return found

    def has_param(self, name: str) -> bool:
        """True if ``name`` is present, with or without a value."""
        return any(key == name for key, _ in self.params)

    @property
    def branch(self) -> str | None:
        """The transaction id this Via carries."""
        return self.param("branch")

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with ``name`` set to ``value`` (replacing it in place, else appended)."""
        params = list(self.params)
        for i, (key, _) in enumerate(params):
            if key == name:
                params[i] = (name, value)
                break
        else:
            params.append((name, value))
        return Via(self.transport, self.host, self.port, tuple(params))

    def render(self) -> str:
        """Back to header text."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        sent_by = host if self.port is None else f"{host}:{self.port}"
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"{SIP_VERSION}/{self.transport} {sent_by}{params}"


def _split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not port_text:
        return host, None
    if not _digits(port_text) or not 0 < int(port_text) < 65536:
        raise SipParseError(
            Text("A port number is malformed.", "Номер порта искажён."),
            evidence=Text(text[:100], text[:100]),
            raw=text.encode("utf-8", "replace"),
        )
    return host, int(port_text)


class SipMessage:
    """Headers (ordered, repeatable, canonical names) and a body; base of request/response."""

    __slots__ = ("body", "defects", "headers", "raw")

    def __init__(self, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> None:
        self.headers: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in headers]
        self.body = body
        # Header lines the parser had to skip (no colon...), kept as evidence.
        self.defects: list[str] = []
        # The exact bytes this message was parsed from (empty for built messages).
        self.raw = b""

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (any spelling, compact or full), else None."""
        key = canonical_name(name).lower()
        for hname, value in self.headers:
            if hname.lower() == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every line of header ``name``, in order, without splitting commas."""
        key = canonical_name(name).lower()
        return [value for hname, value in self.headers if hname.lower() == key]

    def values(self, name: str) -> list[str]:
        """Every element of header ``name``: comma lists (Via, Contact...) are split."""
        lines = self.get_all(name)
        if canonical_name(name).lower() not in _LIST_HEADERS:
            return lines
        return [item for line in lines for item in split_list(line)]

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        self.headers.append((canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one line, at the first one's place."""
        key = canonical_name(name).lower()
        out: list[tuple[str, str]] = []
        placed = False
        for hname, old in self.headers:
            if hname.lower() == key:
                if not placed:
                    out.append((canonical_name(name), value))
                    placed = True
            else:
                out.append((hname, old))
        if not placed:
            out.append((canonical_name(name), value))
        self.headers = out

    def remove(self, name: str) -> None:
        """Drop every line of ``name``."""
        key = canonical_name(name).lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != key]

    @property
    def vias(self) -> list[Via]:
        """Every Via entry, top first; raises :class:`SipParseError` on a malformed one."""
        return [Via.parse(item) for item in self.values("Via")]

    @property
    def top_via(self) -> Via | None:
        """The first Via entry, or None if there is none."""
        items = self.values("Via")
        return Via.parse(items[0]) if items else None

    @property
    def cseq(self) -> tuple[int, str] | None:
        """``(number, METHOD)`` from CSeq, or None if absent or malformed."""
        value = self.get("CSeq")
        if value is None:
            return None
        number, _, method = value.strip().partition(" ")
        if not _digits(number) or not method.strip():
            return None
        return int(number), method.strip().upper()

    def _start_line(self) -> str:
        raise NotImplementedError

    def render(self) -> bytes:
        """Wire bytes; Content-Length is always written last and always right."""
        lines = [self._start_line()]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __str__(self) -> str:
        return self.render().decode("utf-8", "replace")


class SipRequest(SipMessage):
    """A request: method, Request-URI, headers, body."""

    __slots__ = ("method", "uri")

    def __init__(
        self, method: str, uri: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.method = method.upper()
        self.uri = uri

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def copy(self) -> SipRequest:
        """An independent copy (headers list copied)."""
        return SipRequest(self.method, self.uri, list(self.headers), self.body)

    def reply(self, status_code: int, reason: str) -> SipResponse:
        """A response to this request (RFC 3261 §8.2.6.2: Via, From, To, Call-ID, CSeq)."""
        response = SipResponse(status_code, reason)
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            for value in self.get_all(name):
                if name == "To" and ";tag=" not in value.replace(" ", ""):
                    value += f";tag={new_tag()}"
                response.add(name, value)
        return response

    def next_in_sequence(self, branch: str | None = None) -> SipRequest:
        """The same request as a new transaction: CSeq + 1, a fresh top-Via branch.

        RFC 3261 §8.1.3.5: a request retried after 401/407 keeps Call-ID, From and To tags
        and increments CSeq; being a new transaction it needs a new branch (§8.1.1.7).
        """
        new = self.copy()
        cseq = self.cseq
        if cseq is not None:
            new.set("CSeq", f"{cseq[0] + 1} {cseq[1]}")
        for i, (name, value) in enumerate(new.headers):
            if name == "Via":
                items = split_list(value)
                top = Via.parse(items[0]).with_param("branch", branch or new_branch())
                new.headers[i] = (name, ", ".join([top.render(), *items[1:]]))
                break
        return new


class SipResponse(SipMessage):
    """A response: status code, reason phrase, headers, body."""

    __slots__ = ("reason", "status_code")

    def __init__(
        self,
        status_code: int,
        reason: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        super().__init__(headers, body)
        self.status_code = status_code
        self.reason = reason

    def _start_line(self) -> str:
        return f"{SIP_VERSION} {self.status_code} {self.reason}"

    @property
    def is_final(self) -> bool:
        """2xx-6xx; 1xx are provisional."""
        return self.status_code >= 200


def _garbage(what: Text, raw: bytes, detail: str = "") -> SipParseError:
    shown = raw[:300].decode("utf-8", "backslashreplace")
    evidence = (detail + "\n" if detail else "") + f"{len(raw)} bytes: {shown!r}"
    return SipParseError(what, evidence=Text(evidence, evidence), raw=raw)


_NOT_SIP = Text("The peer sent something that is not SIP.", "Сервер прислал не SIP.")


def _parse_start_line(start: str, raw: bytes) -> SipRequest | SipResponse:
    start = start.strip()
    if start[:8].upper() == "SIP/2.0 ":
        code_text, _, reason = start[8:].strip().partition(" ")
        if len(code_text) != 3 or not _digits(code_text) or not 100 <= int(code_text) <= 699:
            raise _garbage(_NOT_SIP, raw, f"bad status line: {start[:100]!r}")
        return SipResponse(int(code_text), reason.strip())
    parts = start.split()
    if (
        len(parts) != 3
        or parts[2].upper() != SIP_VERSION
        or not (parts[0].isascii() and parts[0].isalpha())
    ):
        raise _garbage(_NOT_SIP, raw, f"bad start line: {start[:100]!r}")
    return SipRequest(parts[0], parts[1])


def _parse_head(head: bytes, raw: bytes) -> SipRequest | SipResponse:
    """Start line and headers (the bytes before the blank line); ``raw`` is for evidence."""
    text = head.decode("utf-8", "replace")
    lines = text.replace("\r\n", "\n").split("\n")
    message = _parse_start_line(lines[0], raw)
    headers = message.headers
    for line in lines[1:]:
        if not line.strip():
            continue
        if line[0] in " \t" and headers:
            # RFC 3261 §7.3.1: a line starting with whitespace continues the previous one.
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or " " in name:
            message.defects.append(line[:200])
            continue
        headers.append((canonical_name(name), value.strip()))
    return message


def _content_length(message: SipMessage) -> int | None:
    value = message.get("Content-Length")
    if value is None:
        return None
    value = value.strip()
    if not _digits(value) or int(value) > MAX_BODY:
        return -1
    return int(value)


def _find_head_end(data: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """(end of head, start of body), or (-1, -1); tolerates bare LF line ends."""
    crlf = data.find(b"\r\n\r\n", start)
    # Bounded by the CRLF hit: an unbounded search would rescan the whole buffer per message.
    lf = data.find(b"\n\n", start, crlf if crlf >= 0 else len(data))
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 4
    return -1, -1


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one datagram (RFC 3261 §18.3); raises :class:`SipParseError` on garbage.

    Tolerant where it is safe: bare LF, folded lines, a missing blank line at the end,
    header lines without a colon (kept in ``defects``), extra bytes past Content-Length.
    """
    stripped = data.lstrip(b"\r\n")
    if not stripped:
        raise _garbage(_NOT_SIP, data, "empty or keep-alive only")
    head_end, body_start = _find_head_end(stripped)
    if head_end < 0:
        head, body = stripped, b""
    else:
        head, body = stripped[:head_end], stripped[body_start:]
    message = _parse_head(head, data)
    message.raw = bytes(data)
    length = _content_length(message)
    if length is None:
        message.body = body
    elif length < 0:
        message.defects.append(f"Content-Length: {message.get('Content-Length')}")
        message.body = body
    elif len(body) < length:
        raise _garbage(
            Text(
                "A SIP message arrived truncated (shorter than its Content-Length).",
                "SIP-сообщение пришло обрезанным (короче своего Content-Length).",
            ),
            data,
            f"Content-Length {length}, body {len(body)} bytes (IP fragmentation? MTU?)",
        )
    else:
        message.body = body[:length]
    return message


class StreamParser:
    """Frames messages on a TCP stream by Content-Length (RFC 3261 §18.3).

    Feed it chunks; it returns every complete message. Garbage raises
    :class:`SipParseError` and leaves the parser unusable: a byte stream cannot resync.
    """

    __slots__ = ("_broken", "_buffer")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._broken: SipParseError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[SipRequest | SipResponse]:
        """Add ``data``; return the messages it completes, in order."""
        if self._broken is not None:
            raise self._broken
        self._buffer += data
        try:
            return list(self._drain())
        except SipParseError as exc:
            self._broken = exc
            raise

    def _drain(self) -> Iterator[SipRequest | SipResponse]:
        # Walk the buffer with an offset and cut what was consumed once, at the end.
        buf = self._buffer
        pos = 0
        try:
            while True:
                size = len(buf)
                # RFC 5626 §3.5.1: CRLF keep-alives ("\r\n\r\n" ping, "\r\n" pong).
                while pos < size and buf[pos] in b"\r\n":
                    pos += 1
                if pos == size:
                    return
                head_end, body_start = _find_head_end(buf, pos)
                if head_end < 0:
                    self._check_partial(pos)
                    return
                head = bytes(buf[pos:head_end])
                message = _parse_head(head, head)
                length = _content_length(message)
                if length is not None and length < 0:
                    raise _garbage(
                        Text(
                            "A SIP message on TCP has an invalid Content-Length.",
                            "У SIP-сообщения по TCP неверный Content-Length.",
                        ),
                        head,
                    )
                # A missing Content-Length on a stream is an RFC violation; read it as 0.
                end = body_start + (length or 0)
                if size < end:
                    return
                message.body = bytes(buf[body_start:end])
                message.raw = bytes(buf[pos:end])
                pos = end
                yield message
        finally:
            del buf[:pos]

    def _check_partial(self, pos: int) -> None:
        """Fail early on a stream that cannot be SIP instead of waiting for 64 KiB of it."""
        buf = self._buffer
        evidence = bytes(buf[pos : pos + MAX_EVIDENCE])
        if len(buf) - pos > MAX_HEAD:
            raise _garbage(_NOT_SIP, evidence, "no end of headers in 64 KiB")
        line_end = buf.find(b"\n", pos)
        if line_end >= 0:
            _parse_start_line(bytes(buf[pos:line_end]).decode("utf-8", "replace"), evidence)
        elif len(buf) - pos > 1024:
            raise _garbage(_NOT_SIP, evidence, "no line end in 1 KiB")
