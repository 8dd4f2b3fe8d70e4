"""`credentials set`: change a trunk's login and password, and only the places that embed them.

The seed's step 1 ("replace YOUR_SIP_LOGIN_HERE / YOUR_SIP_PASSWORD_HERE") done safely: the
auth's username and password, and the login where it is embedded — the endpoint's
``from_user``, the registration's ``client_uri`` user part and ``contact_user``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trunkctl.conf import Document, Transaction
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.pjsip._trunk import check_name, check_password
from trunkctl.providers import ProviderProfile
from trunkctl.secret import Secret

from ._plan import PJSIP, Conflict, _line_no, owner_of

__all__ = ["CredentialsChange", "plan_credentials"]

_URI_USER = re.compile(r"^(?P<scheme>sips?:)(?:(?P<user>[^@;>]*)@)?(?P<rest>.*)$")


@dataclass(slots=True)
class CredentialsChange:
    """Which options a credentials change touched (names only: values may be secret)."""

    trunk: str
    changed: list[str] = field(default_factory=list)


def _with_user(uri: str, login: str) -> str:
    m = _URI_USER.match(uri.strip())
    if m is None:
        return uri
    return f"{m['scheme']}{login}@{m['rest']}"


def _check_owned(doc: Document, trunk: str) -> None:
    """Refuse when a section ``credentials set`` would edit is not trunkctl's ``trunk``.

    A user's own hand-written ``[novofon]`` auth/endpoint/registration is theirs: changing its
    password behind their back is what setup's conflict check prevents, so it is refused the
    same way (exit 1, the sections with their lines).
    """
    conflicts = [
        Conflict(PJSIP, sec.name, type_, _line_no(doc, sec))
        for type_ in ("auth", "endpoint", "registration")
        if (sec := doc.find(trunk, type_)) is not None and owner_of(doc, sec) != trunk
    ]
    if not conflicts:
        return
    raise TrunkctlError(
        Text(
            f"the [{trunk}] sections are not trunkctl's: credentials set changes only a trunk "
            "trunkctl wrote",
            f"секции [{trunk}] написаны не trunkctl: credentials set меняет только транк, "
            "записанный trunkctl",
        ),
        evidence="\n".join(c.describe() for c in conflicts),
        next_step=Text(
            f"Nothing was written. Edit the password in those lines yourself, or let trunkctl "
            f"own the trunk: `trunkctl setup --name {trunk} --force --login … --password-stdin`"
            " (it shows what it replaces; a backup is kept).",
            f"Ничего не записано. Измените пароль в этих строках сами или передайте транк "
            f"trunkctl: `trunkctl setup --name {trunk} --force --login … --password-stdin` "
            "(покажет, что заменяет; копия сохранится).",
        ),
        conflicts=[c.describe() for c in conflicts],
    )


def plan_credentials(
    tx: Transaction,
    *,
    trunk: str,
    login: str,
    password: Secret,
    profile: ProviderProfile | None = None,
) -> CredentialsChange:
    """Stage the new login and password for ``trunk`` on ``tx`` (pjsip.conf only)."""
    check_name(Text("trunk", "транк"), trunk)
    if profile is not None:
        profile.check_login(login)
    elif not login or any(c in login for c in " ;@:[]\r\n\t\0"):
        raise BadInput(
            Text(f"{login!r} is not a usable SIP login", f"{login!r} — непригодный SIP-логин"),
            next_step=Text(
                "Copy the login from the provider's cabinet.",
                "Скопируйте логин из личного кабинета провайдера.",
            ),
        )
    check_password(password)
    doc = tx.read(PJSIP)
    auth = doc.find(trunk, "auth")
    if auth is None:
        raise BadInput(
            Text(f"pjsip.conf has no [{trunk}] type=auth", f"в pjsip.conf нет [{trunk}] type=auth"),
            next_step=Text(
                f"Use `trunkctl setup --name {trunk} --login <LOGIN> --password-stdin`: it "
                "writes the trunk, or adds the credentials to an IP-mode trunk (which has "
                "none) and keeps the rest.",
                f"Используйте `trunkctl setup --name {trunk} --login <ЛОГИН> --password-stdin`: "
                "он запишет транк или добавит логин и пароль к транку в режиме IP (у него их "
                "нет), сохранив остальное.",
            ),
        )
    _check_owned(doc, trunk)
    change = CredentialsChange(trunk)

    def put(section_type: str, key: str, value: str) -> None:
        sec = doc.find(trunk, section_type)
        if sec is None or (key not in sec and section_type != "auth"):
            return
        if sec.get_all(key) != [value]:
            sec.set(key, value)
            change.changed.append(f"[{trunk}] type={section_type} {key}")

    put("auth", "username", login)
    put("auth", "password", password.reveal())
    put("endpoint", "from_user", login)
    registration = doc.find(trunk, "registration")
    if registration is not None:
        client_uri = registration.get("client_uri")
        if client_uri:
            put("registration", "client_uri", _with_user(client_uri, login))
        put("registration", "contact_user", login)
    tx.stage(PJSIP, doc)
    return change
