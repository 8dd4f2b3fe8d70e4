"""The provider's own words: reason phrases, ``Warning:`` and ``Reason:`` headers of its answer.

SIP codes are coarse (403 covers "IP not allowed", "Caller ID not allowed", "not verified"…);
providers say which in the reason phrase or a Warning header (RFC 3261 §20.43). A table of
known phrases, NovoFon's first, maps them to precise advice. NovoFon does not publish its
phrases; the entries are the wordings Russian providers on the same platform family use
(Zadarma/NovoFon, seen in support threads), matched case-insensitively by substring, in
both languages. The provider's text is always quoted verbatim, matched or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..i18n import Text
from ._outcome import Explanation
from ._sip import sip_status

__all__ = ["PROVIDER_PHRASES", "ProviderAnswer", "ProviderPhrase", "provider_phrase"]


@dataclass(frozen=True, slots=True)
class ProviderPhrase:
    """A known provider wording and what it means; ``codes`` empty: with any code."""

    id: str
    provider: str
    match: tuple[str, ...]
    codes: frozenset[int]
    meaning: Text
    next_step: Text


def _p(
    id_: str, match: tuple[str, ...], codes: tuple[int, ...], meaning: Text, step: Text
) -> ProviderPhrase:
    return ProviderPhrase(id_, "NovoFon", match, frozenset(codes), meaning, step)


PROVIDER_PHRASES: tuple[ProviderPhrase, ...] = (
    _p(
        "caller_id_not_allowed",
        (
            "caller id not allowed",
            "callerid not allowed",
            "invalid caller",
            "caller id",
            "callerid",
            "номер абонента",
            "номер звонящего",
        ),
        (403, 404, 603),
        Text(
            "NovoFon refused the caller ID: the number the call was sent from (From / "
            "P-Asserted-Identity) is not one of the numbers of this account.",
            "NovoFon отклонил номер звонящего: номер, с которого отправлен звонок (From / "
            "P-Asserted-Identity), не принадлежит этому аккаунту.",
        ),
        Text(
            "Send a virtual number of your NovoFon account as caller ID (the trunk's "
            "`outgoing` context sets CALLERID(num)); `trunkctl numbers` lists them.",
            "Передавайте как номер звонящего виртуальный номер вашего аккаунта NovoFon "
            "(контекст `outgoing` транка задаёт CALLERID(num)); список — `trunkctl numbers`.",
        ),
    ),
    _p(
        "insufficient_funds",
        (
            "insufficient funds",
            "insufficient balance",
            "low balance",
            "not enough money",
            "no money",
            "balance",
            "недостаточно средств",
            "баланс",
        ),
        (),
        Text(
            "NovoFon refused the call for lack of money on the account.",
            "NovoFon отклонил звонок: на счёте недостаточно средств.",
        ),
        Text(
            "Top up the balance in NovoFon's personal account (`trunkctl balance` shows it), "
            "then call again.",
            "Пополните баланс в личном кабинете NovoFon (`trunkctl balance` покажет его) "
            "и позвоните снова.",
        ),
    ),
    _p(
        "ip_not_allowed",
        (
            "ip not allowed",
            "ip address not allowed",
            "ip is not allowed",
            "not allowed ip",
            "unknown ip",
            "ip-адрес",
        ),
        (),
        Text(
            "NovoFon does not accept calls from this server's IP address for this trunk.",
            "NovoFon не принимает звонки с IP-адреса этого сервера для этого транка.",
        ),
        Text(
            "Add the server's public IP to the SIP line's allowed addresses (IP trunk: the "
            "termination address) in NovoFon's personal account; `trunkctl doctor` checks it.",
            "Добавьте публичный IP сервера в разрешённые адреса SIP-линии (IP-транк: адрес "
            "терминации) в личном кабинете NovoFon; `trunkctl doctor` это проверит.",
        ),
    ),
    _p(
        "not_verified",
        ("not verified", "verification", "верификац"),
        (),
        Text(
            "NovoFon has not verified this IP trunk yet.",
            "NovoFon ещё не верифицировал этот IP-транк.",
        ),
        Text(
            "Make the verification call: `trunkctl call <verification number> --verification`.",
            "Сделайте проверочный звонок: `trunkctl call <номер верификации> --verification`.",
        ),
    ),
    _p(
        "direction_forbidden",
        ("direction", "destination not allowed", "international", "направлени"),
        (),
        Text(
            "NovoFon does not allow calls to this destination on this account.",
            "NovoFon не разрешает звонки в это направление на этом аккаунте.",
        ),
        Text(
            "Enable the destination (international calls are off by default) in NovoFon's "
            "personal account, or ask NovoFon support to open it.",
            "Включите направление (международные звонки по умолчанию выключены) в личном "
            "кабинете NovoFon или попросите поддержку NovoFon открыть его.",
        ),
    ),
    _p(
        "limit_reached",
        ("limit", "too many calls", "channels exceeded", "лимит"),
        (),
        Text(
            "NovoFon refused the call because a limit was reached (simultaneous calls or "
            "calls per second).",
            "NovoFon отклонил звонок: достигнут лимит (одновременных звонков или звонков "
            "в секунду).",
        ),
        Text(
            "Lower the number of simultaneous calls, or ask NovoFon to raise the line's limit.",
            "Уменьшите число одновременных звонков или попросите NovoFon поднять лимит линии.",
        ),
    ),
    _p(
        "bad_credentials",
        (
            "wrong password",
            "bad password",
            "auth failed",
            "authentication failed",
            "invalid credentials",
            "неверный пароль",
        ),
        (),
        Text(
            "NovoFon rejected the SIP login or password.",
            "NovoFon отклонил SIP-логин или пароль.",
        ),
        Text(
            "Check the SIP line's login and password in NovoFon's personal account and run "
            "`trunkctl setup` again with them.",
            "Проверьте логин и пароль SIP-линии в личном кабинете NovoFon и снова выполните "
            "`trunkctl setup` с ними.",
        ),
    ),
)


def provider_phrase(code: int | None, *texts: str) -> ProviderPhrase | None:
    """The first known phrase found in ``texts`` (reason phrase, Warning, Reason) for ``code``.

    The standard reason phrase of ``code`` ("Forbidden") matches nothing: it says no more
    than the code.
    """
    standard = sip_status(code).reason.lower() if code else ""
    said = " | ".join(t.lower() for t in texts if t and t.lower() != standard)
    if not said:
        return None
    for phrase in PROVIDER_PHRASES:
        if phrase.codes and code not in phrase.codes:
            continue
        if any(m in said for m in phrase.match):
            return phrase
    return None


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """The provider's final answer to a request, in its own words (from the SIP trace)."""

    code: int
    reason: str
    warnings: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    provider: str = "NovoFon"
    phrase: ProviderPhrase | None = field(default=None)

    @classmethod
    def of(
        cls,
        code: int,
        reason: str,
        warnings: tuple[str, ...] = (),
        reasons: tuple[str, ...] = (),
        provider: str = "NovoFon",
    ) -> ProviderAnswer:
        """The answer with its known phrase looked up."""
        phrase = provider_phrase(code, reason, *warnings, *reasons)
        return cls(code, reason, warnings, reasons, provider, phrase)

    @property
    def said(self) -> str:
        """Verbatim: ``403 Caller ID not allowed; Warning: 399 … "…"; Reason: …``."""
        parts = [f"{self.code} {self.reason}".rstrip()]
        parts += [f"Warning: {w}" for w in self.warnings]
        parts += [f"Reason: {r}" for r in self.reasons]
        return "; ".join(parts)

    def headline(self) -> Text:
        return Text(f"{self.provider} said: {self.said}", f"{self.provider} ответил: {self.said}")

    def explain(self, explanation: Explanation) -> Explanation:
        """``explanation`` with the provider's words quoted first and its phrase's advice."""
        meaning = self.headline() + Text(". ", ". ")
        if self.phrase is not None:
            meaning = meaning + self.phrase.meaning + Text(" ", " ")
        steps = explanation.next_steps
        notes = explanation.notes
        if self.phrase is not None:
            steps = (self.phrase.next_step, *steps)
            notes = (*notes, f"provider_phrase:{self.phrase.id}")
        return replace(
            explanation,
            meaning=meaning + explanation.meaning,
            next_steps=steps,
            notes=notes,
            evidence=explanation.evidence + Text(f"; {self.said}", f"; {self.said}"),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "code": self.code,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "reasons": list(self.reasons),
            "said": self.said,
            "phrase": None if self.phrase is None else self.phrase.id,
        }
