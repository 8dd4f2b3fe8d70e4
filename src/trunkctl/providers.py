"""Provider profiles: plain data, so adding a provider is adding one entry.

Facts on NovoFon's two platforms come from its public API clients and users' configs (see
docs/providers.md); hosts are resolved at run time, never hard-coded as addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .errors import BadInput
from .i18n import Text

__all__ = ["PROFILES", "ProviderProfile", "get_profile"]

_ANY_LOGIN = Text("the SIP login", "SIP-логин")


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What a provider expects from an Asterisk trunk."""

    name: str
    title: str
    sip_host: str
    sip_port: int = 5060
    transport: str = "udp"
    login_pattern: str = r".+"
    login_hint: Text = _ANY_LOGIN
    codecs: tuple[str, ...] = ("alaw", "ulaw")
    # Hosts whose addresses identify calls coming from the provider (identify match).
    identify_hosts: tuple[str, ...] = ()
    # How the provider wants numbers: E.164 digits without '+' (79991234567).
    number_format: str = "e164_digits"
    notes: tuple[Text, ...] = field(default_factory=tuple)

    def check_login(self, login: str) -> str:
        """The login if it has the provider's format, else a BadInput that shows the format."""
        if re.fullmatch(self.login_pattern, login):
            return login
        raise BadInput(
            Text(
                f"{login!r} is not a {self.title} SIP login",
                f"{login!r} не похож на SIP-логин {self.title}",
            ),
            evidence=Text(f"expected {self.login_hint.en}", f"ожидается {self.login_hint.ru}"),
            next_step=Text(
                "Copy the login from the provider's cabinet (SIP lines / trunk page), or pick "
                "another --provider.",
                "Скопируйте логин из личного кабинета (раздел SIP-линий или страница транка) "
                "или укажите другой --provider.",
            ),
        )

    def with_server(
        self, host: str | None, port: int | None, transport: str | None
    ) -> ProviderProfile:
        """The same profile pointed at another server (a proxy, the sandbox)."""
        return replace(
            self,
            sip_host=host or self.sip_host,
            sip_port=port or self.sip_port,
            transport=transport or self.transport,
            identify_hosts=(host,) if host else self.identify_hosts,
        )


PROFILES: dict[str, ProviderProfile] = {
    "novofon": ProviderProfile(
        name="novofon",
        title="NovoFon",
        sip_host="sip.novofon.ru",
        login_pattern=r"\d{7}",
        login_hint=Text(
            "7 digits, zero-padded (like 0053248)", "7 цифр с ведущими нулями (например, 0053248)"
        ),
        identify_hosts=("sip.novofon.ru",),
        notes=(
            Text(
                "Current platform (my.novofon.ru / app.novofon.ru).",
                "Текущая платформа (my.novofon.ru / app.novofon.ru).",
            ),
        ),
    ),
    "novofon-legacy": ProviderProfile(
        name="novofon-legacy",
        title="NovoFon (legacy)",
        sip_host="sip.novofon.com",
        login_pattern=r"\d{6}(-\d{3})?",
        login_hint=Text(
            "a 6-digit SIP number, or a PBX extension like 123456-100",
            "6-значный SIP-номер или внутренний номер АТС вида 123456-100",
        ),
        identify_hosts=("sip.novofon.com", "pbx.novofon.com"),
        notes=(
            Text(
                "Legacy ex-Zadarma platform (my.novofon.com); PBX extensions register on "
                "pbx.novofon.com.",
                "Старая платформа (бывшая Zadarma, my.novofon.com); внутренние номера АТС "
                "регистрируются на pbx.novofon.com.",
            ),
        ),
    ),
    "generic": ProviderProfile(
        name="generic",
        title="generic SIP provider",
        sip_host="",
        notes=(
            Text(
                "Give --server HOST[:PORT] and --transport.",
                "Укажите --server ХОСТ[:ПОРТ] и --transport.",
            ),
        ),
    ),
}


def get_profile(name: str) -> ProviderProfile:
    """The profile called ``name``, or a BadInput listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise BadInput(
            Text(f"unknown provider {name!r}", f"неизвестный провайдер {name!r}"),
            evidence=Text(f"known providers: {known}", f"известные провайдеры: {known}"),
            next_step=Text(
                "Pick one of them with --provider.", "Выберите один из них через --provider."
            ),
        ) from None
