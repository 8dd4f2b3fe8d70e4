"""The AMI layer's errors, built in one place so each says what, the evidence and the next step.

Every constructor takes the peer as ``host:port`` and never a secret: Login's ``Secret`` and
the Password of AuthDetail events stay out of every message here.
"""

from __future__ import annotations

import errno

from trunkctl.errors import (
    AmiActionError,
    AmiAuthError,
    AmiConnectionError,
    AmiError,
    AmiPermissionError,
    AmiTimeoutError,
)
from trunkctl.i18n import Text

from ._parser import Message

__all__ = [
    "WRITE_CLASSES",
    "AmiListTooLongError",
    "action_error",
    "auth_error",
    "closed_error",
    "connect_error",
    "list_too_long_error",
    "lost_error",
    "permission_error",
    "timeout_error",
    "write_classes",
]

# The write classes (any one suffices) each action is registered with in Asterisk 22:
# manager.c, res_pjsip/pjsip_manager.c, res_pjsip_outbound_registration.c and friends.
# `manager show command <Action>` on the Asterisk CLI prints the same ("Privilege:").
WRITE_CLASSES: dict[str, tuple[str, ...]] = {
    "originate": ("originate",),
    "command": ("command",),
    "reload": ("system", "config"),
    "getconfig": ("system", "config"),
    "getconfigjson": ("system", "config"),
    "updateconfig": ("config",),
    "createconfig": ("config",),
    "listcategories": ("config",),
    "hangup": ("system", "call"),
    "redirect": ("call",),
    "setvar": ("call",),
    "getvar": ("call", "reporting"),
    "status": ("system", "call", "reporting"),
    "coreshowchannels": ("system", "reporting"),
    "coresettings": ("system", "reporting"),
    "corestatus": ("system", "reporting"),
    "userevent": ("user",),
    "moduleload": ("system",),
    "modulecheck": ("system",),
    "pjsipshowendpoints": ("system",),
    "pjsipshowendpoint": ("system",),
    "pjsipshowcontacts": ("system",),
    "pjsipshowaors": ("system",),
    "pjsipshowauths": ("system",),
    "pjsipqualify": ("system", "reporting"),
    "pjsipshowregistrationsoutbound": ("system", "reporting"),
    "pjsipshowregistrationsinbound": ("system", "reporting"),
    "pjsipregister": ("system", "reporting"),
    "pjsipunregister": ("system", "reporting"),
    "pjsiphangup": ("system", "call"),
}


def write_classes(action: str) -> tuple[str, ...] | None:
    """The manager.conf write classes that allow ``action`` (any one), if we know them."""
    return WRITE_CLASSES.get(action.lower())


def connect_error(peer: str, exc: OSError) -> AmiConnectionError:
    """TCP connect failed: refused, unreachable, bad address."""
    code = exc.errno
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        what = Text(
            f"nothing accepts AMI connections at {peer} (connection refused)",
            f"по адресу {peer} никто не принимает соединения AMI (соединение отклонено)",
        )
    else:
        what = Text(
            f"cannot connect to AMI at {peer}: {exc.strerror or exc}",
            f"не удаётся подключиться к AMI по адресу {peer}: {exc.strerror or exc}",
        )
    return AmiConnectionError(
        what,
        evidence=Text(f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}"),
        next_step=Text(
            "Check that Asterisk runs (`asterisk -rx 'manager show settings'`) and that "
            "manager.conf has `enabled = yes` under [general] with this port and bindaddr.",
            "Проверьте, что Asterisk запущен (`asterisk -rx 'manager show settings'`), а в "
            "manager.conf в [general] стоит `enabled = yes` с этим портом и bindaddr.",
        ),
        peer=peer,
    )


def lost_error(
    peer: str, exc: BaseException | None, waiting: str | None = None
) -> AmiConnectionError:
    """The connection dropped (Asterisk stopped, restarted, or the network cut it)."""
    during = f" while waiting for {waiting}" if waiting else ""
    during_ru = f" во время ожидания ответа на {waiting}" if waiting else ""
    return AmiConnectionError(
        Text(
            f"the AMI connection to {peer} was closed{during}",
            f"соединение AMI с {peer} закрылось{during_ru}",
        ),
        evidence=Text(str(exc), str(exc)) if exc else None,
        next_step=Text(
            "Asterisk may have stopped or restarted: check `asterisk -rx 'core show uptime'` "
            "and its log; the client reconnects by itself when Asterisk is back.",
            "Возможно, Asterisk остановился или перезапустился: проверьте "
            "`asterisk -rx 'core show uptime'` и журнал; клиент переподключится сам.",
        ),
        peer=peer,
    )


def closed_error(peer: str) -> AmiConnectionError:
    """An action was asked of a client that was closed on purpose."""
    return AmiConnectionError(
        Text(f"the AMI client for {peer} is closed", f"клиент AMI для {peer} закрыт"),
        next_step=Text(
            "Open a new client (`async with AmiClient(...)`).",
            "Откройте новый клиент (`async with AmiClient(...)`).",
        ),
        peer=peer,
    )


def timeout_error(peer: str, waiting: str, seconds: float) -> AmiTimeoutError:
    """No answer in time; the connection itself may still be fine."""
    return AmiTimeoutError(
        Text(
            f"Asterisk at {peer} did not answer {waiting} within {seconds:g} s",
            f"Asterisk по адресу {peer} не ответил на {waiting} за {seconds:g} с",
        ),
        next_step=Text(
            "Check that Asterisk is not overloaded or stuck (`asterisk -rx 'core show "
            "taskprocessors'`), that this is its manager port, and retry with a longer timeout.",
            "Проверьте, что Asterisk не перегружен и не завис (`asterisk -rx 'core show "
            "taskprocessors'`), что это его порт AMI, и повторите с большим тайм-аутом.",
        ),
        peer=peer,
        seconds=seconds,
    )


def auth_error(peer: str, username: str, response: Message) -> AmiAuthError:
    """Login refused: wrong user or secret, or the source address not permitted."""
    return AmiAuthError(
        Text(
            f"Asterisk at {peer} refused the AMI login of user {username!r}",
            f"Asterisk по адресу {peer} отклонил вход в AMI пользователя {username!r}",
        ),
        evidence=Text(
            f"Message: {response.get('Message', '')}", f"Message: {response.get('Message', '')}"
        ),
        next_step=Text(
            f"In manager.conf check the section [{username}]: its `secret` must match ours, "
            "and `deny`/`permit` must allow this machine's address; then run "
            "`asterisk -rx 'manager reload'`.",
            f"В manager.conf проверьте секцию [{username}]: `secret` должен совпадать с нашим, "
            "а `deny`/`permit` должны пропускать адрес этой машины; затем выполните "
            "`asterisk -rx 'manager reload'`.",
        ),
        peer=peer,
        username=username,
    )


def permission_error(peer: str, username: str, action: str) -> AmiPermissionError:
    """``Permission denied``: the AMI user lacks the action's write class."""
    classes = write_classes(action)
    if classes:
        need = " or ".join(classes)
        need_ru = " или ".join(classes)
        fix = Text(
            f"Add `{classes[0]}` to the `write =` line of [{username}] in manager.conf "
            f"(e.g. `write = ...,{classes[0]}`), then run `asterisk -rx 'manager reload'`.",
            f"Добавьте `{classes[0]}` в строку `write =` секции [{username}] в manager.conf "
            f"(например, `write = ...,{classes[0]}`), затем выполните "
            "`asterisk -rx 'manager reload'`.",
        )
    else:
        need = need_ru = "?"
        fix = Text(
            f"Run `asterisk -rx 'manager show command {action}'` to see the class it needs "
            f"(Privilege:) and add it to the `write =` line of [{username}] in manager.conf.",
            f"Выполните `asterisk -rx 'manager show command {action}'`, чтобы увидеть нужный "
            f"класс (Privilege:), и добавьте его в строку `write =` секции [{username}] в "
            "manager.conf.",
        )
    return AmiPermissionError(
        Text(
            f"the AMI user {username!r} may not run {action} (it needs write class {need})",
            f"пользователю AMI {username!r} нельзя выполнять {action} "
            f"(нужен класс записи {need_ru})",
        ),
        evidence=Text("Message: Permission denied", "Message: Permission denied"),
        next_step=fix,
        peer=peer,
        action=action,
        write_classes=list(classes or ()),
    )


def action_error(peer: str, action: str, response: Message) -> AmiActionError:
    """``Response: Error`` other than a permission problem; evidence is Asterisk's Message."""
    message = response.get("Message", "")
    output = response.get_all("Output")
    evidence = f"Message: {message}" + "".join(f"\nOutput: {line}" for line in output[:20])
    return AmiActionError(
        Text(
            f"Asterisk at {peer} answered {action} with an error: {message}",
            f"Asterisk по адресу {peer} ответил на {action} ошибкой: {message}",
        ),
        evidence=Text(evidence, evidence),
        next_step=Text(
            f"Read Asterisk's message above; `manager show command {action}` lists the "
            "headers the action takes.",
            f"Прочитайте сообщение Asterisk выше; `manager show command {action}` "
            "перечисляет заголовки действия.",
        ),
        peer=peer,
        action=action,
        message=message,
    )


class AmiListTooLongError(AmiError):
    """A list action's answer passed its item or byte cap; the rest of it is discarded."""

    code = "ami_list_too_long"


def list_too_long_error(
    peer: str, action: str, items: int, size: int, max_items: int, max_bytes: int
) -> AmiListTooLongError:
    """A list that never ends (or is far bigger than any real one) stops here, typed."""
    return AmiListTooLongError(
        Text(
            f"{action} from {peer} sent more than the cap allows and was stopped",
            f"{action} от {peer} прислал больше допустимого и остановлен",
        ),
        evidence=Text(
            f"{items} events, {size} bytes so far (caps: {max_items} events, {max_bytes} bytes)",
            f"получено {items} событий, {size} байт (пределы: {max_items} событий, "
            f"{max_bytes} байт)",
        ),
        next_step=Text(
            "A real list this long is unusual: check the Asterisk at that address; if it is "
            "right, raise the caps (AmiClient(max_list_items=..., max_list_bytes=...)).",
            "Такой длинный список необычен: проверьте Asterisk по этому адресу; если всё "
            "верно, поднимите пределы (AmiClient(max_list_items=..., max_list_bytes=...)).",
        ),
        peer=peer,
        action=action,
        items=items,
        bytes=size,
    )
