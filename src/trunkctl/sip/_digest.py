"""Sans-I/O SIP digest authentication (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

:meth:`DigestAuth.auth_flow` is a generator in the manner of httpx's ``DigestAuth``: it
yields a request, receives the response, and yields the authenticated retry when the
response is a 401/407 challenge. UDP, TCP and unit tests drive the same code.

Supported: MD5, MD5-sess, SHA-256(-sess), SHA-512-256(-sess); qop auth, auth-int, and the
legacy no-qop form; userhash; stale=true; nonce reuse with counted ``nc``.

Hand-written because httpx's DigestAuth, the closest kept implementation, is bound to
httpx's Request/Response and HTTP's single WWW-Authenticate round; SIP needs 407 with
Proxy-Authorization, CSeq/branch renewal on each retry and SHA-512-256.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections.abc import Callable, Generator
from dataclasses import dataclass

from trunkctl.i18n import Text
from trunkctl.secret import Secret

from ._errors import SipChallengeError
from ._message import SipRequest, SipResponse, _scan_quoted, _unquote, new_branch

__all__ = [
    "ALGORITHMS",
    "Challenge",
    "DigestAuth",
    "choose_challenge",
    "digest_response",
    "hash_hex",
    "parse_auth_header",
    "sha512_256",
    "sha512_256_fallback",
]

# Preference when a server offers several (RFC 8760 §2.4 says take the topmost one the
# UAC supports "unless a local policy dictates otherwise"; ours: the strongest hash, and
# the topmost among equals).
_STRENGTH = {"MD5": 1, "SHA-256": 2, "SHA-512-256": 3}
ALGORITHMS = tuple(f"{name}{sess}" for name in _STRENGTH for sess in ("", "-SESS"))

# Challenge header → the header that answers it (RFC 3261 §22.2, §22.3).
_ANSWER = {"WWW-Authenticate": "Authorization", "Proxy-Authenticate": "Proxy-Authorization"}
_CHALLENGE_FOR = {401: "WWW-Authenticate", 407: "Proxy-Authenticate"}


# --- SHA-512/256 -------------------------------------------------------------------------
# hashlib's "sha512_256" comes from OpenSSL and is missing from some builds (LibreSSL,
# stripped FIPS providers). The fallback below is FIPS 180-4 SHA-512 with the SHA-512/t
# initial values; its constants are derived, not typed, from their definitions (§4.2.3,
# §5.3.5, §5.3.6), so a typo cannot hide in 88 hex literals.

_MASK = (1 << 64) - 1


def _primes(count: int) -> list[int]:
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found


def _icbrt(n: int) -> int:
    """floor(cbrt(n)) for a big integer (Newton's method)."""
    x = 1 << ((n.bit_length() + 2) // 3)
    while True:
        y = (2 * x + n // (x * x)) // 3
        if y >= x:
            return x
        x = y


@functools.cache
def _sha512_constants() -> tuple[tuple[int, ...], tuple[int, ...]]:
    # K: first 64 bits of the fractional parts of the cube roots of the first 80 primes;
    # H0: same with square roots of the first 8 primes.
    k = tuple(_icbrt(p << 192) & _MASK for p in _primes(80))
    h0 = tuple(math.isqrt(p << 128) & _MASK for p in _primes(8))
    return k, h0


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _MASK


def _sha512(data: bytes, iv: tuple[int, ...]) -> bytes:
    k, _ = _sha512_constants()
    h = list(iv)
    bit_len = len(data) * 8
    padded = data + b"\x80" + b"\x00" * ((111 - len(data)) % 128) + bit_len.to_bytes(16, "big")
    for offset in range(0, len(padded), 128):
        w = [int.from_bytes(padded[offset + 8 * i : offset + 8 * i + 8], "big") for i in range(16)]
        for i in range(16, 80):
            s0 = _rotr(w[i - 15], 1) ^ _rotr(w[i - 15], 8) ^ (w[i - 15] >> 7)
            s1 = _rotr(w[i - 2], 19) ^ _rotr(w[i - 2], 61) ^ (w[i - 2] >> 6)
            w.append((w[i - 16] + s0 + w[i - 7] + s1) & _MASK)
        a, b, c, d, e, f, g, hh = h
        for i in range(80):
            t1 = hh + (_rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41)) + ((e & f) ^ (~e & g)) + k[i]
            t2 = (_rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))
            hh, g, f, e = g, f, e, (d + t1 + w[i]) & _MASK
            d, c, b, a = c, b, a, (t1 + t2 + w[i]) & _MASK
        h = [(x + y) & _MASK for x, y in zip(h, (a, b, c, d, e, f, g, hh), strict=True)]
    return b"".join(x.to_bytes(8, "big") for x in h)


@functools.cache
def _sha512_256_iv() -> tuple[int, ...]:
    # FIPS 180-4 §5.3.6: SHA-512 with every H0 word XOR a5a5..., over the string "SHA-512/256".
    _, h0 = _sha512_constants()
    digest = _sha512(b"SHA-512/256", tuple(x ^ 0xA5A5A5A5A5A5A5A5 for x in h0))
    return tuple(int.from_bytes(digest[i : i + 8], "big") for i in range(0, 64, 8))


def sha512_256_fallback(data: bytes) -> bytes:
    """SHA-512/256 in pure Python (for builds whose hashlib lacks it)."""
    return _sha512(data, _sha512_256_iv())[:32]


def _hashlib_has(name: str) -> bool:
    try:
        hashlib.new(name, b"", usedforsecurity=False)
    except ValueError:
        return False
    return True


def sha512_256(data: bytes) -> bytes:
    """SHA-512/256: hashlib's when the OpenSSL build has it, else the pure-Python one."""
    if _HAVE_SHA512_256:
        return hashlib.new("sha512_256", data, usedforsecurity=False).digest()
    return sha512_256_fallback(data)


_HAVE_SHA512_256 = _hashlib_has("sha512_256")


def hash_hex(algorithm: str, data: bytes) -> str:
    """Lowercase hex digest of ``data`` under a digest algorithm name (``-sess`` ignored)."""
    base = algorithm.upper().removesuffix("-SESS")
    # usedforsecurity=False: MD5 is what the protocol mandates, and FIPS-mode OpenSSL
    # refuses it otherwise.
    if base == "MD5":
        return hashlib.new("md5", data, usedforsecurity=False).hexdigest()
    if base == "SHA-256":
        return hashlib.new("sha256", data, usedforsecurity=False).hexdigest()
    if base == "SHA-512-256":
        return sha512_256(data).hex()
    raise ValueError(f"unsupported digest algorithm {algorithm!r}")


# --- challenges ----------------------------------------------------------------------------


def parse_auth_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """``Digest a=1, b="x", Digest ...`` → ``[("Digest", {"a": "1", "b": "x"}), ...]``.

    Several challenges may share one header line (RFC 7235 §4.1); parameter names are
    lowercased, quoted values unescaped. Never raises: junk yields odd but harmless items.
    """
    out: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t\r\n,":
            i += 1
        start = i
        while i < n and value[i] not in " \t\r\n,=":
            i += 1
        token = value[start:i]
        j = i
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == "=" and token:
            j += 1
            while j < n and value[j] in " \t":
                j += 1
            if j < n and value[j] == '"':
                end = _scan_quoted(value, j)
                raw = value[j:end]
            else:
                end = value.find(",", j)
                end = n if end < 0 else end
                raw = value[j:end].strip()
            i = end
            if params is None:
                params = {}
                out.append(("", params))
            params[token.lower()] = _unquote(raw)
        elif token:
            params = {}
            out.append((token, params))
        else:
            i = max(i, start + 1)
    return out


@dataclass(frozen=True, slots=True)
class Challenge:
    """One digest challenge from a WWW-Authenticate or Proxy-Authenticate header."""

    header: str
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False

    @property
    def answer_header(self) -> str:
        """The request header that answers this challenge."""
        return _ANSWER[self.header]

    @property
    def supported(self) -> bool:
        """True if trunkctl can answer it (known algorithm, usable qop, realm and nonce)."""
        qop_ok = not self.qop or "auth" in self.qop or "auth-int" in self.qop
        return self.algorithm in ALGORITHMS and qop_ok and bool(self.nonce)

    @classmethod
    def from_response(cls, response: SipResponse) -> list[Challenge]:
        """Every Digest challenge in a 401/407, topmost first (others schemes skipped)."""
        header = _CHALLENGE_FOR.get(response.status_code)
        if header is None:
            return []
        found: list[Challenge] = []
        for line in response.get_all(header):
            for scheme, params in parse_auth_header(line):
                if scheme.lower() != "digest":
                    continue
                found.append(
                    cls(
                        header=header,
                        realm=params.get("realm", ""),
                        nonce=params.get("nonce", ""),
                        algorithm=params.get("algorithm", "MD5").upper(),
                        qop=tuple(
                            q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()
                        ),
                        opaque=params.get("opaque"),
                        stale=params.get("stale", "").lower() == "true",
                        userhash=params.get("userhash", "").lower() == "true",
                    )
                )
        return found

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (nonces are not secrets)."""
        return {
            "header": self.header,
            "realm": self.realm,
            "algorithm": self.algorithm,
            "qop": list(self.qop),
            "stale": self.stale,
            "userhash": self.userhash,
            "supported": self.supported,
        }


def choose_challenge(challenges: list[Challenge]) -> Challenge:
    """The strongest supported challenge (topmost among equals); raises if none is usable."""
    usable = [c for c in challenges if c.supported]
    if not usable:
        offered = ", ".join(f"{c.algorithm} qop={','.join(c.qop) or '-'}" for c in challenges)
        offered = offered or "no Digest challenge"
        raise SipChallengeError(
            Text(
                "The server asks for a digest trunkctl cannot compute.",
                "Сервер требует digest, который trunkctl не умеет вычислить.",
            ),
            evidence=Text(f"offered: {offered}", f"предложено: {offered}"),
            next_step=Text(
                f"trunkctl answers {', '.join(ALGORITHMS)} with qop auth/auth-int; "
                "ask the provider which algorithm the trunk uses.",
                f"trunkctl поддерживает {', '.join(ALGORITHMS)} с qop auth/auth-int; "
                "уточните у провайдера алгоритм транка.",
            ),
        )
    best = max(_STRENGTH[c.algorithm.removesuffix("-SESS")] for c in usable)
    return next(c for c in usable if _STRENGTH[c.algorithm.removesuffix("-SESS")] == best)


def digest_response(
    algorithm: str,
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "00000001",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 when ``qop`` is None)."""

    def h(text: str) -> str:
        return hash_hex(algorithm, text.encode("utf-8"))

    ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + hash_hex(algorithm, body)
    if qop is None:
        return h(f"{ha1}:{nonce}:{h(a2)}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{h(a2)}")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class _Cached:
    challenge: Challenge
    nc: int = 0


class DigestAuth:
    """Digest credentials plus the nonces they have answered, for one registrar or proxy.

    Keeps the last challenge per header so later requests (the unregister) authenticate
    pre-emptively with the next ``nc`` (RFC 7616 §3.4: nc counts requests per nonce).
    The password is kept as a :class:`~trunkctl.secret.Secret` and never shown.
    """

    def __init__(
        self,
        username: str,
        password: str | Secret,
        *,
        cnonce_factory: Callable[[], str] | None = None,
        branch_factory: Callable[[], str] | None = None,
    ) -> None:
        self.username = username
        self._password = password if isinstance(password, Secret) else Secret(password)
        self._cnonce = cnonce_factory or (lambda: secrets.token_hex(8))
        self._branch = branch_factory or new_branch
        self._cache: dict[str, _Cached] = {}

    def __repr__(self) -> str:
        return f"DigestAuth(username={self.username!r}, password=<hidden>)"

    def authorization(self, request: SipRequest, challenge: Challenge, nc: int) -> str:
        """The Authorization/Proxy-Authorization value answering ``challenge`` for ``request``."""
        qop = None
        if challenge.qop:
            qop = "auth" if "auth" in challenge.qop else "auth-int"
        cnonce = self._cnonce() if qop or challenge.algorithm.endswith("-SESS") else ""
        nc_text = f"{nc:08x}"
        username = self.username
        if challenge.userhash:
            # RFC 7616 §3.4.4: the username is sent as H(username:realm).
            username = hash_hex(challenge.algorithm, f"{username}:{challenge.realm}".encode())
        response = digest_response(
            challenge.algorithm,
            username=self.username,
            realm=challenge.realm,
            password=self._password.reveal(),
            method=request.method,
            uri=request.uri,
            nonce=challenge.nonce,
            qop=qop,
            nc=nc_text,
            cnonce=cnonce,
            body=request.body,
        )
        parts = [
            f"username={_quote(username)}",
            f"realm={_quote(challenge.realm)}",
            f"nonce={_quote(challenge.nonce)}",
            f"uri={_quote(request.uri)}",
            f"response={_quote(response)}",
            f"algorithm={challenge.algorithm}",
        ]
        if cnonce:
            parts.append(f"cnonce={_quote(cnonce)}")
        if qop:
            parts += [f"qop={qop}", f"nc={nc_text}"]
        if challenge.opaque is not None:
            parts.append(f"opaque={_quote(challenge.opaque)}")
        if challenge.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)

    def _answer(self, request: SipRequest, challenge: Challenge) -> None:
        cached = self._cache.get(challenge.answer_header)
        if cached is None or cached.challenge != challenge:
            cached = self._cache[challenge.answer_header] = _Cached(challenge)
        cached.nc += 1
        request.set(challenge.answer_header, self.authorization(request, challenge, cached.nc))

    def auth_flow(self, request: SipRequest) -> Generator[SipRequest, SipResponse, None]:
        """Yield ``request``, then an authenticated retry for each answerable 401/407.

        Stops (returns) on any other response, or when a challenge arrives again for
        credentials computed from a fresh challenge and not ``stale`` (they were refused).
        Raises :class:`SipChallengeError` when no offered challenge can be answered.
        """
        request = request.copy()
        # Where each auth header of the request came from: the cache (pre-emptive) or a
        # challenge to this very flow.
        origin: dict[str, str] = {}
        for header, cached in self._cache.items():
            self._answer(request, cached.challenge)
            origin[header] = "cache"
        stale_retries = 0
        response = yield request
        for _ in range(6):
            if response.status_code not in _CHALLENGE_FOR:
                return
            challenge = choose_challenge(Challenge.from_response(response))
            header = challenge.answer_header
            if origin.get(header) == "challenge":
                if not challenge.stale or stale_retries >= 2:
                    return
                stale_retries += 1
            origin[header] = "challenge"
            request = request.next_in_sequence(self._branch())
            self._answer(request, challenge)
            response = yield request
