"""How Asterisk reads single values: booleans, versions, URIs, addresses, codecs, secrets.

Pure functions over strings, each citing the Asterisk code whose reading it mirrors, so the
rules stay short and these can be tested (and fuzzed) on their own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from trunkctl.i18n import Text

__all__ = [
    "Codecs",
    "Version",
    "codecs_of",
    "has_since",
    "host_port",
    "identify_match_problem",
    "is_false",
    "is_true",
    "names",
    "parse_module_list",
    "parse_version",
    "placeholder_in",
    "sip_uri_host",
    "sip_uri_problem",
    "sip_uri_user",
    "split_list",
    "valid_hostname",
    "weak_secret_reason",
]

Version = tuple[int, int, int]

# main/utils.c ast_true()/ast_false().
_TRUE: Final = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE: Final = frozenset({"no", "false", "n", "f", "0", "off"})


def is_true(value: str | None) -> bool:
    """ast_true(): yes, true, y, t, 1, on (any case)."""
    return value is not None and value.strip().lower() in _TRUE


def is_false(value: str | None) -> bool:
    """ast_false(): no, false, n, f, 0, off (any case)."""
    return value is not None and value.strip().lower() in _FALSE


def split_list(value: str | None) -> list[str]:
    """A comma-separated option value (``aors``, ``auth``, ``match``) as trimmed items."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


_VERSION: Final = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?")


def parse_version(text: str | None) -> Version | None:
    """``(22, 10, 1)`` from ``Asterisk 22.10.1+dfsg...``, ``22.10.1``, ``certified/18.9-cert2``.

    ``None`` for ``GIT-master-...`` builds and anything else without a version number.
    """
    if not text:
        return None
    m = _VERSION.search(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def has_since(version: Version, since: str) -> bool | None:
    """Whether an option documented ``Since: 20.12.0, 21.7.0, 22.2.0`` exists in ``version``.

    Asterisk lists the first release of each branch that got it. ``None`` when the list does
    not say (a branch between listed ones, or nothing listed).
    """
    listed = [v for v in (parse_version(p) for p in since.split(",")) if v is not None]
    if not listed:
        return None
    same = [v for v in listed if v[0] == version[0]]
    if same:
        return version >= min(same)
    if version[0] > max(v[0] for v in listed):
        return True
    if version[0] < min(v[0] for v in listed):
        return False
    return None


def parse_module_list(text: str) -> frozenset[str]:
    """Module names (no ``.so``) from ``module show`` / ``module show like`` output."""
    names = re.findall(r"^\s*([A-Za-z0-9_]+)\.so\b", text, flags=re.M)
    return frozenset(names)


# --- placeholders -------------------------------------------------------------------------

# (label shown to the user, pattern). The label names the KIND of placeholder, never the
# value, so a password that holds one is still never printed.
_PLACEHOLDERS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("IP_ADDRESS_…", re.compile(r"(?<![A-Za-z0-9])IP_(ADDRESS|ADDR|OF)\w*", re.I)),
    ("YOUR_…", re.compile(r"(?<![A-Za-z0-9])YOUR[_-][A-Za-z0-9_]+", re.I)),
    ("…_HERE", re.compile(r"[A-Za-z0-9]_HERE(?![A-Za-z0-9])", re.I)),
    ("ТВОЙ_… / ВАШ_…", re.compile(r"(?<!\w)(ТВО[ЙЯЕИ]|ВАШ[АЕИ]?)(_|\s|$)", re.I)),
    ("ЛОГИН / ПАРОЛЬ", re.compile(r"(?<!\w)(ЛОГИН|ПАРОЛЬ)(?!\w)", re.I)),
    ("CHANGEME", re.compile(r"(?<![A-Za-z0-9])(CHANGE|REPLACE)[_-]?ME(?![A-Za-z0-9])", re.I)),
    ("<…>", re.compile(r"^<[^<>:@]+>$")),
    ("example.com", re.compile(r"(?<![\w-])example\.(com|net|org)(?![\w.-])", re.I)),
    (
        "documentation address (RFC 5737)",
        re.compile(r"(?<![\d.])(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}(?![\d.])"),
    ),
    ("x.x.x.x", re.compile(r"(?<![\w.])[xX]{1,3}(\.[xX]{1,3}){3}(?![\w.])")),
)
_XXX: Final = re.compile(r"(?<![A-Za-z])[xX]{3,}(?![A-Za-z])")
# A whole value that only names what should be there ("username = login").
_BARE_WORDS: Final = frozenset(
    {"login", "password", "username", "user", "secret", "pass", "sip_login", "sip_password"}
)


def placeholder_in(value: str, *, xxx: bool = True, bare_word: bool = False) -> str | None:
    """The kind of template placeholder left in ``value`` (``YOUR_…``, ``xxx…``), or ``None``.

    ``xxx=False`` where runs of X are legitimate (dialplan patterns like ``_XXXX``);
    ``bare_word=True`` for credential options, where ``login`` alone is a placeholder.
    """
    for label, pattern in _PLACEHOLDERS:
        if pattern.search(value):
            return label
    if xxx and _XXX.search(value):
        return "xxx…"
    if bare_word and value.strip().lower() in _BARE_WORDS:
        return "a bare word (" + value.strip().lower() + ")"
    return None


# --- secrets ------------------------------------------------------------------------------

# Secrets from Asterisk's and distributions' sample configs and the usual first guesses.
_SAMPLE_SECRETS: Final = frozenset(
    {
        "amp111",
        "amp109",
        "mysecret",
        "secret",
        "password",
        "passw0rd",
        "p@ssw0rd",
        "pass",
        "admin",
        "administrator",
        "asterisk",
        "manager",
        "ari",
        "asterisk123",
        "freepbx",
        "elastix",
        "issabel",
        "changeme",
        "default",
        "test",
        "testing",
        "qwerty",
        "qwerty123",
        "letmein",
        "welcome",
        "root",
        "toor",
        "1234",
        "12345",
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "111111",
        "000000",
    }
)
MIN_SECRET_LENGTH: Final = 12  # shorter is weak
RECOMMENDED_SECRET_LENGTH: Final = 16  # what every fix text asks for
_DICTIONARY_LIKE: Final = re.compile(r"[A-Za-z]+[0-9]{0,4}[!.?]?")


def weak_secret_reason(secret: str, username: str | None = None) -> Text | None:
    """Why ``secret`` is weak (it is never part of the answer), or ``None`` if it is not.

    Weak: empty, a sample/common secret (``amp111``, ``mysecret``…), the user name, shorter
    than 12 characters, all digits, a word with a few digits, or a handful of distinct
    characters. Scanners try exactly these first.
    """
    s = secret.strip()
    low = s.lower()
    if not s:
        return Text("it is empty", "он пустой")
    if low in _SAMPLE_SECRETS:
        return Text(
            "it is a well-known sample or default secret",
            "это общеизвестный пароль из примеров или по умолчанию",
        )
    if username and (low == username.lower() or username.lower() in low):
        return Text("it is (or contains) the user name", "он совпадает с именем или содержит его")
    if len(s) < MIN_SECRET_LENGTH:
        return Text(
            f"it is only {len(s)} characters long (weak below {MIN_SECRET_LENGTH}; use "
            f"{RECOMMENDED_SECRET_LENGTH}+ random ones)",
            f"в нём всего {len(s)} символов (меньше {MIN_SECRET_LENGTH} — слабый; нужно "
            f"{RECOMMENDED_SECRET_LENGTH}+ случайных)",
        )
    if s.isdigit():
        return Text("it is only digits", "он состоит только из цифр")
    if len(set(low)) <= 4:
        return Text(
            "it repeats a handful of characters",
            "в нём повторяются несколько одних и тех же символов",
        )
    if len(s) < 20 and _DICTIONARY_LIKE.fullmatch(s):
        return Text(
            "it looks like a word with a few digits (dictionary attacks try these)",
            "он похож на слово с цифрами (такие перебирают по словарю)",
        )
    return None


# --- addresses and URIs -------------------------------------------------------------------

_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def valid_hostname(host: str) -> bool:
    """An RFC 1123 host name (letters, digits, '-'; no '_'), not a broken dotted quad."""
    if len(host) > 253 or not _HOSTNAME.fullmatch(host):
        return False
    # "37.139.38.300" is a typo'd address, not a host name.
    return not re.fullmatch(r"[\d.]+", host)


def _ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_port(text: str) -> tuple[str, int | None] | None:
    """``host[:port]`` / ``[v6][:port]`` / bare IPv6 split as ast_sockaddr_split_hostport does.

    ``None`` when the port is not a number in 1–65535 or brackets do not close.
    """
    text = text.strip()
    port: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text  # no port, or a bare IPv6 address
    if port is None:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _sockaddr(text: str) -> bool:
    # ast_sockaddr_parse(addr, str, 0): an IP literal, optionally with a port.
    hp = host_port(text)
    return hp is not None and _ip(hp[0])


def _netmask_ok(mask: str) -> bool:
    if mask.isdigit():
        return True  # ast_append_ha clamps CIDR bits to the family's width
    return _ip(mask)


def identify_match_problem(item: str) -> Text | None:
    """Why one ``match`` item cannot be used, or ``None`` (see ip_identify_match_handler()).

    An item with '/' or that parses as an address goes to the ACL parser (a bad one drops
    the identify object); anything else must resolve as a host name when the object loads.
    """
    item = item.strip()
    if "/" in item:
        addr, mask = item.rsplit("/", 1)
        if _sockaddr(addr) and _netmask_ok(mask):
            return None
        return Text(
            f"{item!r} is not a valid address/mask",
            f"{item!r} — неверная запись адрес/маска",
        )
    if _sockaddr(item):
        return None
    hp = host_port(item)
    if hp is not None and valid_hostname(hp[0]):
        return None
    return Text(
        f"{item!r} is neither an IP address, a network (CIDR) nor a host name",
        f"{item!r} — не IP-адрес, не сеть (CIDR) и не имя хоста",
    )


_URI: Final = re.compile(
    r"(?P<scheme>sips?):(?:(?P<user>[^@\s;?]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:;?\s\[\]]+)"
    r"(?::(?P<port>\d+))?(?P<params>;[^?\s]*)?(?P<headers>\?\S*)?",
    re.I,
)


def _uri_match(value: str) -> re.Match[str] | None:
    v = value.strip()
    if v.startswith("<") and v.endswith(">"):
        v = v[1:-1].strip()
    return _URI.fullmatch(v)


def sip_uri_problem(value: str) -> Text | None:
    """Why ``value`` is not a SIP URI pjproject would parse, or ``None``.

    Catches the usual ones: a bare host (``sip.novofon.ru``), ``sip://host``, spaces, a port
    out of range, ``user@`` without a host.
    """
    v = value.strip()
    if not v:
        return Text("it is empty", "он пустой")
    if not re.match(r"<?sips?:", v, re.I):
        return Text(
            f"{v!r} does not start with sip: (write sip:{v.split('://')[-1]})",
            f"{v!r} не начинается с sip: (напишите sip:{v.split('://')[-1]})",
        )
    if re.match(r"<?sips?://", v, re.I):
        return Text(
            f"{v!r}: SIP URIs have no '//' (write sip:host, not sip://host)",
            f"{v!r}: в SIP URI нет '//' (пишите sip:хост, а не sip://хост)",
        )
    m = _uri_match(v)
    if m is None:
        return Text(f"{v!r} is not a valid SIP URI", f"{v!r} — некорректный SIP URI")
    host = m.group("host")
    ok = _ip(host[1:-1]) if host.startswith("[") else _ip(host) or valid_hostname(host)
    port = m.group("port")
    if not ok:
        return Text(
            f"{v!r}: {host!r} is not a host name or address",
            f"{v!r}: {host!r} — не имя хоста и не адрес",
        )
    if port is not None and not 0 < int(port) < 65536:
        return Text(f"{v!r}: port {port} is out of range", f"{v!r}: порт {port} вне диапазона")
    return None


def sip_uri_user(value: str) -> str | None:
    """The user part of a SIP URI (``0053248`` in ``sip:0053248@host``), or ``None``."""
    m = _uri_match(value)
    return m.group("user") if m else None


def sip_uri_host(value: str) -> str | None:
    """The host of a SIP URI (brackets kept off IPv6), or ``None``."""
    m = _uri_match(value)
    if m is None:
        return None
    host = m.group("host")
    return host[1:-1] if host.startswith("[") else host


# --- codecs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Codecs:
    """What an endpoint's ``allow``/``disallow`` lines leave: a set, or all but some."""

    named: frozenset[str]
    everything: bool = False  # then ``named`` are the ones removed from "all"

    def allows(self, codec: str) -> bool:
        """Whether ``codec`` is allowed."""
        return (codec not in self.named) if self.everything else (codec in self.named)

    @property
    def empty(self) -> bool:
        """No codec at all: every call fails with 488 Not Acceptable Here."""
        return not self.everything and not self.named


def codecs_of(options: Sequence[tuple[str, str]]) -> Codecs:
    """The codecs ``allow``/``disallow`` leave, applied in order.

    ast_format_cap_update_by_allow_disallow(): each item adds (allow) or removes (disallow)
    one codec; ``all`` adds or removes every one. The endpoint default is none at all.
    """
    named: set[str] = set()
    everything = False
    for key, value in options:
        k = key.lower()
        if k not in ("allow", "disallow"):
            continue
        for item in split_list(value):
            name = item.lower().split(":", 1)[0]  # "g729:20" carries a framing
            if name == "all":
                everything = k == "allow"
                named.clear()
            elif (k == "allow") != everything:
                named.add(name)
            else:
                named.discard(name)
    return Codecs(frozenset(named), everything)


def names(items: Iterable[str]) -> str:
    """``a, b, c`` for messages."""
    return ", ".join(items)
