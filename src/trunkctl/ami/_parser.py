"""AMI wire format: bytes from Asterisk → :class:`Message`, and actions → bytes. No I/O.

Why hand-written: panoramisk (the maintained asyncio AMI library) splits lines on ``": "``
after stripping each message, so it drops a message's trailing empty header
(``AccountCode: ``) and any ``Key:value`` written without the blank, and it decodes every
header of every event eagerly. The older libraries (pyst2, asterisk-ami) are thread-based.
The format is small, so we own it: every header kept, and only what is read gets parsed.

The wire (Asterisk 20–22, main/manager.c; checked against 22.10):

- on connect one line ``Asterisk Call Manager/<AMI version>\\r\\n``, no blank line after it;
- then messages: ``Key: Value\\r\\n`` lines ended by an empty line. Keys hold ``-`` and
  digits (``Cause-txt``) and repeat (``Output``, ``Variable``, TestEvent's ``State``);
  values hold colons and may be empty (``AccountCode: ``);
- some values end in a stray bare ``\\n``: ``Message: No endpoints found\\n\\r\\n\\r\\n``
  (res_pjsip's ``astman_send_error(s, m, "...\\n")``).

Speed: an event firehose (VarSet, Newexten…) is mostly read for two or three headers, so a
:class:`Message` keeps its raw text and answers ``get`` with one substring search; the
ordered header list is built on first need.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from trunkctl.errors import AmiConnectionError, BadInput
from trunkctl.i18n import Text

__all__ = [
    "BANNER_PREFIX",
    "MAX_HEADERS",
    "MAX_LINE",
    "MAX_MESSAGE",
    "SECRET_KEYS",
    "AmiProtocolError",
    "Message",
    "Parser",
    "encode_action",
]

BANNER_PREFIX = b"Asterisk Call Manager/"
# manager.c reads an action into a 1025-byte buffer (line and CRLF must fit in 1024) and
# keeps at most AST_MAX_MANAGER_HEADERS = 128 headers; a longer line is discarded with
# "Line too long", the 129th header silently.
MAX_LINE = 1024
MAX_HEADERS = 128
# A single message larger than this is not Asterisk talking (the biggest real ones are
# Command outputs of a few hundred kB).
MAX_MESSAGE = 16 * 1024 * 1024
# Header names whose values are secrets (lower case). PJSIPShowEndpoint's AuthDetail
# carries the plain Password (checked), Login carries Secret; OAuth fields exist since 20.
SECRET_KEYS = frozenset(
    {"password", "passworddigest", "secret", "md5cred", "oauthsecret", "refreshtoken"}
)
MASK = "********"

_CRLF = "\r\n"
_END = b"\r\n\r\n"


class AmiProtocolError(AmiConnectionError):
    """The peer does not speak AMI (no banner, or bytes that cannot be AMI messages)."""

    code = "ami_protocol"


_PORT_HINT = Text(
    "Check that the port is Asterisk's manager port (manager.conf, [general] port = ...).",
    "Проверьте, что это порт интерфейса управления Asterisk (manager.conf, [general] port = ...).",
)


def _not_ami(what: Text, sample: bytes) -> AmiProtocolError:
    return AmiProtocolError(
        what,
        evidence=Text(f"received: {sample[:80]!r}", f"получено: {sample[:80]!r}"),
        next_step=_PORT_HINT,
    )


# key -> (key + ":", CRLF + key + ":", lower forms of both); built on first use.
_NEEDLES: dict[str, tuple[str, str, str, str]] = {}


def _needles(key: str) -> tuple[str, str, str, str]:
    low = key.lower()
    found = (key + ":", _CRLF + key + ":", low + ":", _CRLF + low + ":")
    if len(_NEEDLES) < 4096:
        _NEEDLES[key] = found
    return found


def _split_lines(raw: str) -> list[tuple[str, str]]:
    """The ordered headers of one message's raw text (lines joined by CRLF)."""
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    lines = raw.split(_CRLF)
    if raw.count("\n") == len(lines) - 1:  # every "\n" is part of a CRLF
        for line in lines:
            key, sep, value = line.partition(":")
            if sep:
                append((key, value.lstrip(" \t")))
    else:
        # A bare "\n" at either end of a line is stray (see the module docstring); one
        # inside a value is kept.
        for line in lines:
            key, sep, value = line.strip("\n").partition(":")
            if sep:
                append((key, value.lstrip(" \t")))
    return pairs


class Message:
    """One AMI message: ordered ``(key, value)`` headers plus case-insensitive lookup.

    ``Message(raw)`` takes the header block as Asterisk sent it (CRLF-joined, without the
    blank line); :meth:`from_pairs` builds one from headers. Lookups return the first value.
    """

    __slots__ = ("_ci", "_first", "_low", "_pairs", "_plain", "_raw")

    def __init__(self, raw: str) -> None:
        self._raw: str | None = raw
        self._plain: bool | None = None
        self._low: str | None = None
        self._pairs: list[tuple[str, str]] | None = None
        self._first: dict[str, str] | None = None
        self._ci: dict[str, str] | None = None

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Message:
        """A message with exactly these headers, in this order."""
        msg = cls.__new__(cls)
        msg._raw = msg._plain = msg._low = msg._first = msg._ci = None
        msg._pairs = list(pairs)
        return msg

    # -- lookup ----------------------------------------------------------------------------
    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header in wire order, repeats and empty values included (do not mutate)."""
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = _split_lines(self._raw or "")
        return pairs

    @property
    def size(self) -> int:
        """Characters of the header block: what the message cost on the wire, near enough."""
        if self._raw is not None:
            return len(self._raw)
        return sum(len(k) + len(v) + 4 for k, v in self.headers)

    def _index(self, key: str) -> str | None:
        first = self._first
        if first is None:
            first = self._first = dict(reversed(self.headers))
        value = first.get(key)
        if value is None:
            ci = self._ci
            if ci is None:
                ci = self._ci = {k.lower(): v for k, v in reversed(self.headers)}
            value = ci.get(key.lower())
        return value

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive, as Asterisk reads keys)."""
        raw = self._raw
        if raw is None or self._pairs is not None:
            value = self._index(key)
            return default if value is None else value
        exact, exact_nl, low, low_nl = _NEEDLES.get(key) or _needles(key)
        if raw.startswith(exact):
            start = len(exact)
        else:
            plain = self._plain
            if plain is None:
                # A line led by a stray "\n" hides from the CRLF searches below.
                plain = self._plain = raw[:1] != "\n" and "\r\n\n" not in raw
            at = raw.find(exact_nl) if plain else -1
            if at < 0:
                if plain:
                    lowered = self._low
                    if lowered is None:
                        lowered = self._low = raw.lower()
                    if not lowered.startswith(low) and lowered.find(low_nl) < 0:
                        return default
                value = self._index(key)  # another spelling of the key, or odd lines
                return default if value is None else value
            start = at + len(exact_nl)
        end = raw.find(_CRLF, start)
        return (raw[start:end] if end >= 0 else raw[start:]).lstrip(" \t").rstrip("\n")

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order (``Output``, ``Variable``...)."""
        low = key.lower()
        return [v for k, v in self.headers if k == key or k.lower() == low]

    def keys(self) -> list[str]:
        """Header names in order, repeats included."""
        return [k for k, _ in self.headers]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.headers == other.headers

    __hash__ = None  # type: ignore[assignment]

    # -- what kind of message --------------------------------------------------------------
    @property
    def event(self) -> str | None:
        """The ``Event`` name, or None for a response."""
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """``Success``, ``Error``, ``Goodbye``..., or None for an event."""
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` echoed by Asterisk, if any."""
        return self.get("ActionID")

    # -- safe views ------------------------------------------------------------------------
    def redacted(self) -> Message:
        """A copy with secret values (Password, Secret, MD5Cred...) masked, for logs."""
        return Message.from_pairs(
            (k, MASK if k.lower() in SECRET_KEYS else v) for k, v in self.headers
        )

    def to_dict(self) -> dict[str, str | list[str]]:
        """JSON-ready and redacted: one value per key, a list where the key repeats."""
        out: dict[str, str | list[str]] = {}
        for key, value in self.redacted().headers:
            old = out.get(key)
            if old is None:
                out[key] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                out[key] = [old, value]
        return out

    def encode(self) -> bytes:
        """The message as Asterisk would send it (secrets included: not for logs)."""
        body = "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return (body + _CRLF).encode("utf-8", "surrogateescape")

    def __repr__(self) -> str:
        shown = " ".join(f"{k}={v!r}" for k, v in self.redacted().headers)
        return f"<Message {shown}>"


class Parser:
    """Bytes from Asterisk in arbitrary chunks → complete messages, in order.

    Raises :class:`AmiProtocolError` when the peer is not an AMI server (no banner first)
    or a message grows past ``max_message`` bytes.
    """

    __slots__ = ("_buf", "_want_banner", "banner", "max_message")

    def __init__(self, *, banner: bool = True, max_message: int = MAX_MESSAGE) -> None:
        self._buf = b""
        self._want_banner = banner
        self.banner: str | None = None
        """The AMI version from the banner (``"11.0.0"`` on Asterisk 22), once received."""
        self.max_message = max_message

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        """Every message that ``data`` completes; the rest waits for the next chunk."""
        buf = self._buf
        if buf:
            # The held bytes have no terminator; only one straddling the joint is new.
            start = len(buf) - 3
            buf += data
        else:
            start = 0
            buf = data
        if self._want_banner:
            buf = self._take_banner(buf)
            start = 0
            if self._want_banner:
                self._buf = buf
                return []
        end = buf.rfind(_END, start if start > 0 else 0)
        if end < 0:
            if len(buf) > self.max_message:
                raise _not_ami(
                    Text(
                        f"an AMI message longer than {self.max_message} bytes",
                        f"сообщение AMI длиннее {self.max_message} байт",
                    ),
                    buf[:80],
                )
            self._buf = buf
            return []
        self._buf = buf[end + 4 :]
        text = buf[:end].decode("utf-8", "replace")
        blocks = text.split("\r\n\r\n")
        if "" in blocks:  # extra blank lines between messages
            blocks = [b for b in blocks if b]
        return list(map(Message, blocks))

    def _take_banner(self, buf: bytes) -> bytes:
        eol = buf.find(b"\n")
        line = buf if eol < 0 else buf[:eol]
        if not line.startswith(BANNER_PREFIX[: len(line)]) or (eol < 0 and len(buf) > MAX_LINE):
            raise _not_ami(
                Text(
                    "the peer does not greet like Asterisk's manager interface",
                    "собеседник не приветствует как интерфейс управления Asterisk",
                ),
                buf,
            )
        if eol < 0:
            return buf
        version = line[len(BANNER_PREFIX) :].rstrip(b"\r")
        self.banner = version.decode("ascii", "replace").strip()
        self._want_banner = False
        return buf[eol + 1 :]


def _bad_header(what: Text, key: str) -> BadInput:
    return BadInput(
        what,
        evidence=Text(f"header: {key!r}", f"заголовок: {key!r}"),
        next_step=Text(
            "Remove line breaks from AMI header names and values.",
            "Уберите переводы строк из имён и значений заголовков AMI.",
        ),
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_action(action: str, headers: Iterable[tuple[str, object]] = ()) -> bytes:
    """``Action: <action>`` plus headers, ready for the socket; ``None`` values are skipped.

    Raises BadInput for a CR, LF or NUL anywhere (an injected CRLF would smuggle in headers
    or a second action), a line over 1024 bytes or more than 128 headers: manager.c would
    discard or cut them silently. Errors name the header, never its value (it may be a secret).
    """
    lines: list[bytes] = []
    for key, value in (("Action", action), *headers):
        if value is None:
            continue
        text = _text(value)
        if (
            not key
            or key != key.strip(" \t")
            or any(c in key for c in ":\r\n\0")
            or (lines and key.lower() == "action")
        ):
            raise _bad_header(
                Text("invalid AMI header name", "недопустимое имя заголовка AMI"), key
            )
        if any(c in text for c in "\r\n\0"):
            raise _bad_header(
                Text(
                    "an AMI header value contains a line break or NUL",
                    "значение заголовка AMI содержит перевод строки или NUL",
                ),
                key,
            )
        line = f"{key}: {text}\r\n".encode("utf-8", "surrogateescape")
        if len(line) > MAX_LINE:
            raise _bad_header(
                Text(
                    f"an AMI line of {len(line)} bytes: Asterisk accepts {MAX_LINE}",
                    f"строка AMI длиной {len(line)} байт: Asterisk принимает {MAX_LINE}",
                ),
                key,
            )
        lines.append(line)
    if len(lines) > MAX_HEADERS:
        raise _bad_header(
            Text(
                f"{len(lines)} headers: Asterisk keeps only {MAX_HEADERS}",
                f"{len(lines)} заголовков: Asterisk принимает не больше {MAX_HEADERS}",
            ),
            action,
        )
    lines.append(b"\r\n")
    return b"".join(lines)
