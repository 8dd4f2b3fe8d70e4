"""Rules about the files themselves: refused lines, placeholders, a dead sip.conf."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from trunkctl.conf import MASK, ConfMissingError, ResolvedSection, is_secret_key, resolve
from trunkctl.errors import ConfParseError
from trunkctl.i18n import Text

from ._context import FILES, LintContext
from ._model import Hit
from ._registry import rule
from ._values import placeholder_in

_OPTION_LINE: Final = re.compile(r"^(\s*[;\s-]*)([A-Za-z0-9_.@-]+)(\s*(?:=>|\+=|=|\s)\s*)(.*)$")


def masked_line(text: str) -> str:
    """One raw config line for evidence, with a credential's value masked."""
    line = text.rstrip("\r\n")
    m = _OPTION_LINE.match(line)
    if m and m.group(4).strip() and is_secret_key(m.group(2)):
        return m.group(1) + m.group(2) + m.group(3) + MASK
    return line.strip()


def _line_of(ctx: LintContext, file: str, line: int) -> str:
    path = Path(file)
    data = ctx.staged.get(str(path.absolute()))
    try:
        text = (data if data is not None else path.read_bytes()).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = text.split("\n")
    return masked_line(lines[line - 1]) if 0 < line <= len(lines) else ""


@rule(
    "CONF001",
    "error",
    title=Text(
        "Asterisk refuses the file or ignores some of its lines",
        "Asterisk не принимает файл или пропускает часть строк",
    ),
    why=Text(
        "A fatal line (option before any [section], a missing #include, an unclosed '[') "
        "makes Asterisk reject the WHOLE file and keep running on the old one; ignored lines "
        "silently lose settings.",
        "Фатальная строка (параметр до первой [секции], отсутствующий #include, незакрытая "
        "'[') заставляет Asterisk отвергнуть ВЕСЬ файл и работать со старым; пропущенные "
        "строки молча теряют настройки.",
    ),
    fix=Text(
        "Fix the line shown, then reload the module.",
        "Исправьте указанную строку и перезагрузите модуль.",
    ),
)
def _refused(ctx: LintContext) -> Iterator[Hit]:
    for name, exc in ctx.errors.items():
        yield _refusal(ctx, name, exc)
    for name in FILES:
        res = ctx.conf(name)
        if res is None:
            continue
        for p in res.problems:
            file = p.file or str(ctx.path(name))
            excerpt = _line_of(ctx, file, p.line)
            yield Hit(
                Text(
                    f"{ctx.show_path(file)}: Asterisk ignores a line: {p.message.en}",
                    f"{ctx.show_path(file)}: Asterisk пропускает строку: {p.message.ru}",
                ),
                (f"{ctx.show_path(file)}:{p.line}: {excerpt}",),
                severity="error" if p.severity == "fatal" else "warning",
            )


def _refusal(ctx: LintContext, name: str, exc: ConfParseError) -> Hit:
    file = exc.file or str(ctx.path(name))
    line = exc.line or 0
    excerpt = _line_of(ctx, file, line) if line else ""
    return Hit(
        Text(
            f"Asterisk refuses the whole {name}: {exc.what.en}",
            f"Asterisk не примет весь {name}: {exc.what.ru}",
        ),
        (f"{ctx.show_path(file)}:{line}: {excerpt}",),
    )


# Option keys whose values are credentials, logins or hosts: Cyrillic there is always a
# Russian placeholder (ТВОЙ_ЛОГИН), and a bare "login"/"password" is one too.
_CREDENTIAL_KEYS: Final = frozenset(
    {"username", "password", "secret", "from_user", "contact_user", "md5_cred"}
)
_HOST_KEYS: Final = frozenset(
    {
        "server_uri",
        "client_uri",
        "contact",
        "match",
        "from_domain",
        "outbound_proxy",
        "bind",
        "external_media_address",
        "external_signaling_address",
        "bindaddr",
    }
)
_CYRILLIC: Final = re.compile(r"[\u0400-\u04ff]")
_DIALPLAN_KEYS: Final = frozenset({"exten", "same", "include"})


def _placeholder(file: str, section: str, key: str, value: str) -> str | None:
    low = key.lower()
    if file == "extensions.conf" and section.lower() != "globals":
        if not (low in _DIALPLAN_KEYS or low.startswith("same")):
            return None
        # Dialplan patterns are made of X's: only look past the extension and priority.
        text = value.split(",", 2)[-1] if low == "exten" else value.split(",", 1)[-1]
        return placeholder_in(text, xxx=False)
    if low in _HOST_KEYS:
        # A "// comment" after an address is PJSIP015/PJSIP025's; its words are no placeholder.
        value = re.split(r"\s(?://|#)", value, maxsplit=1)[0]
    found = placeholder_in(value, bare_word=low in _CREDENTIAL_KEYS)
    if found is None and (low in _CREDENTIAL_KEYS or low in _HOST_KEYS) and _CYRILLIC.search(value):
        found = "Cyrillic text"
    return found


@rule(
    "CONF002",
    "error",
    title=Text(
        "A placeholder from a guide is still in the config",
        "В конфиге остался шаблон-заглушка из инструкции",
    ),
    why=Text(
        "Values like YOUR_SIP_LOGIN_HERE, ТВОЙ_ЛОГИН, IP_ADDRESS_OF_NOVOFON_HERE or xxxx "
        "are sent as they are: the provider answers 401/403, identify matches nothing, "
        "and the guide's author never meant them to be used.",
        "Значения вроде YOUR_SIP_LOGIN_HERE, ТВОЙ_ЛОГИН, IP_ADDRESS_OF_NOVOFON_HERE или xxxx "
        "отправляются как есть: провайдер отвечает 401/403, identify ничего не находит.",
    ),
    fix=Text(
        "Put the real value there (SIP login and password from the provider's cabinet, the "
        "provider's host), or let `trunkctl setup` write the trunk for you.",
        "Подставьте настоящее значение (SIP-логин и пароль из личного кабинета, адрес "
        "провайдера) или дайте `trunkctl setup` записать транк за вас.",
    ),
)
def _placeholders(ctx: LintContext) -> Iterator[Hit]:
    for name in FILES:
        res = ctx.conf(name)
        if res is None:
            continue
        for sec in res.sections:
            kind = placeholder_in(sec.name, xxx=name != "extensions.conf")
            if kind is not None:
                yield Hit(
                    Text(
                        f"{name}: section [{sec.name}] is named by a placeholder ({kind})",
                        f"{name}: секция [{sec.name}] названа заглушкой ({kind})",
                    ),
                    (ctx.at(sec),),
                )
            yield from _section_placeholders(ctx, name, sec)


def _section_placeholders(ctx: LintContext, name: str, sec: ResolvedSection) -> Iterator[Hit]:
    seen: set[tuple[str, str]] = set()
    # A sample context no endpoint, include or Goto reaches never runs: a note, not an error.
    idle = (
        name == "extensions.conf"
        and sec.name.lower() not in ("general", "globals")
        and not ctx.reached(sec.name)
    )
    for key, value in sec.options:
        kind = _placeholder(name, sec.name, key, value)
        if kind is None or (key.lower(), value) in seen:
            continue
        seen.add((key.lower(), value))
        tail_en = f" (nothing reaches [{sec.name}], so it never runs)" if idle else ""
        tail_ru = f" (в [{sec.name}] ничто не попадает, он не выполняется)" if idle else ""
        yield Hit(
            Text(
                f"{name} [{sec.name}] {key}: a placeholder ({kind}) instead of a real "
                f"value{tail_en}",
                f"{name} [{sec.name}] {key}: заглушка ({kind}) вместо настоящего значения{tail_ru}",
            ),
            (ctx.at(sec, key, value),),
            severity="info" if idle else None,
        )


def chan_sip_state(ctx: LintContext) -> bool | None:
    """Whether chan_sip can exist here: False when the modules list lacks it or Asterisk is
    21+ (chan_sip was removed in 21), True when it is loaded, None when unknown."""
    mods = ctx.modules
    if mods is not None:
        return "chan_sip" in mods
    if ctx.version is not None:
        return ctx.version < (21, 0, 0)
    return None


@rule(
    "CONF003",
    "warning",
    title=Text(
        "sip.conf is configured but this Asterisk has no chan_sip",
        "sip.conf настроен, но в этом Asterisk нет chan_sip",
    ),
    why=Text(
        "chan_sip was removed in Asterisk 21: nothing reads sip.conf, so the peers there "
        "do not exist, however right they look.",
        "chan_sip удалён в Asterisk 21: sip.conf никто не читает, описанных там пиров не "
        "существует, как бы правильно они ни выглядели.",
    ),
    fix=Text(
        "Move the trunk to pjsip.conf (auth, aor, endpoint, registration, identify), e.g. "
        "with `trunkctl setup`, then delete or rename sip.conf.",
        "Перенесите транк в pjsip.conf (auth, aor, endpoint, registration, identify), "
        "например через `trunkctl setup`, затем удалите или переименуйте sip.conf.",
    ),
)
def _dead_sip_conf(ctx: LintContext) -> Iterator[Hit]:
    if not ctx.exists("sip.conf") or chan_sip_state(ctx) is not False:
        return
    try:
        res = resolve("sip.conf", config_dir=ctx.config_dir, files=ctx.staged)
    except (ConfParseError, ConfMissingError):
        return
    peers = [s for s in res.sections if s.name.lower() not in ("general", "authentication")]
    if peers:
        yield Hit(
            Text(
                f"sip.conf defines {len(peers)} peer(s), but chan_sip is not in this Asterisk",
                f"в sip.conf описано пиров: {len(peers)}, но chan_sip в этом Asterisk нет",
            ),
            tuple(f"{ctx.show_path(p.file)}:{p.line}: [{p.name}]" for p in peers[:5]),
        )


@rule(
    "CONF004",
    "error",
    title=Text(
        "modules.conf without [modules]: Asterisk does not start, or starts without PJSIP",
        "modules.conf без [modules]: Asterisk не запустится или запустится без PJSIP",
    ),
    why=Text(
        "Asterisk reads modules.conf's [modules] section at start-up. A line before any "
        "section makes it refuse the file (\"'modules.conf' invalid or missing\", then "
        "'Module initialization failed. ASTERISK EXITING!'); a file without [modules] "
        "loads only the 16 core modules: no PJSIP, no dialplan, no calls.",
        "Asterisk при запуске читает секцию [modules] из modules.conf. Строка до первой "
        "секции — и он отвергает файл (\"'modules.conf' invalid or missing\", затем "
        "'Module initialization failed. ASTERISK EXITING!'); без [modules] грузятся лишь "
        "16 модулей ядра: нет ни PJSIP, ни диалплана, ни звонков.",
    ),
    fix=Text(
        "Put `[modules]` on the first line, before `autoload = yes` and the load/noload lines.",
        "Поставьте `[modules]` первой строкой, перед `autoload = yes` и строками load/noload.",
    ),
)
def _modules_conf(ctx: LintContext) -> Iterator[Hit]:
    if not ctx.exists("modules.conf"):
        return
    where = ctx.show_path(str(ctx.path("modules.conf")))
    try:
        res = resolve("modules.conf", config_dir=ctx.config_dir, files=ctx.staged)
    except ConfParseError as exc:
        file = exc.file or str(ctx.path("modules.conf"))
        line = exc.line or 0
        yield Hit(
            Text(
                f"{exc.what.en}: Asterisk does not start",
                f"{exc.what.ru}: Asterisk не запустится",
            ),
            (f"{ctx.show_path(file)}:{line}: {_line_of(ctx, file, line) if line else ''}",),
        )
        return
    except ConfMissingError:
        return
    fatal = [p for p in res.problems if p.severity == "fatal"]
    if fatal:
        p = fatal[0]
        file = p.file or str(ctx.path("modules.conf"))
        yield Hit(
            Text(
                f"Asterisk refuses modules.conf ({p.message.en}) and does not start",
                f"Asterisk не примет modules.conf ({p.message.ru}) и не запустится",
            ),
            (f"{ctx.show_path(file)}:{p.line}: {_line_of(ctx, file, p.line)}",),
        )
    elif not any(s.name.lower() == "modules" for s in res.sections):
        shown = ", ".join(f"[{s.name}]" for s in res.sections[:4]) or "(none)"
        yield Hit(
            Text(
                f"modules.conf has no [modules] section (sections: {shown}): Asterisk "
                "does not start",
                f"в modules.conf нет секции [modules] (секции: {shown}): Asterisk не запустится",
            ),
            (f"{where}: sections {shown}",),
        )


def _others_can_reach(path: Path) -> bool:
    """Whether every folder above ``path`` lets other users through (o+x): a 0644 file in
    a 0750 folder is not readable by them."""
    for folder in path.absolute().parents:
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _secret_lines(ctx: LintContext, file: Path) -> list[int]:
    """Line numbers of options in ``file`` that hold a non-empty credential."""
    out: list[int] = []
    for i, ln in enumerate(ctx._lines(str(file)), start=1):
        secret = ln.kind == "option" and ln.key is not None and is_secret_key(ln.key)
        if secret and (ln.value or "").strip():
            out.append(i)
    return out


@rule(
    "CONF005",
    "warning",
    title=Text(
        "A file holding secrets is readable by every user",
        "Файл с паролями может прочитать любой пользователь",
    ),
    why=Text(
        "Any local account (a web app, a compromised service) can read a world-readable "
        "pjsip.conf or manager.conf and take the SIP, AMI or ARI passwords in it: with "
        "them it calls at your expense or controls the PBX.",
        "Любая локальная учётная запись (веб-приложение, взломанный сервис) прочитает "
        "pjsip.conf или manager.conf с правами на чтение для всех и заберёт пароли SIP, "
        "AMI или ARI: с ними можно звонить за ваш счёт или управлять АТС.",
    ),
    fix=Text(
        "Remove the others' read bit: `chmod o-rwx <file>` (Debian ships them 0640, owner "
        "asterisk).",
        "Уберите право чтения для остальных: `chmod o-rwx <файл>` (Debian ставит 0640, "
        "владелец asterisk).",
    ),
)
def _world_readable(ctx: LintContext) -> Iterator[Hit]:
    seen: set[str] = set()
    for name in (*FILES, "sip.conf", "iax.conf", "voicemail.conf"):
        res = ctx.conf(name)
        files = {str(ctx.path(name))} if ctx.exists(name) else set()
        if res is not None:
            files |= {s.file for s in res.sections + res.templates if s.file}
        for file in sorted(files):
            path = Path(file)
            if file in seen or str(path.absolute()) in ctx.staged:
                continue
            seen.add(file)
            try:
                mode = path.stat().st_mode
            except OSError:
                continue
            if not mode & stat.S_IROTH or not _others_can_reach(path):
                continue
            lines = _secret_lines(ctx, path)
            if lines:
                yield Hit(
                    Text(
                        f"{ctx.show_path(file)} is readable by every user (mode "
                        f"{stat.S_IMODE(mode):04o}) and holds {len(lines)} secret(s)",
                        f"{ctx.show_path(file)} доступен на чтение всем (права "
                        f"{stat.S_IMODE(mode):04o}), а в нём паролей: {len(lines)}",
                    ),
                    (f"{ctx.show_path(file)}:{lines[0]}: {_line_of(ctx, file, lines[0])}",),
                )
