"""The sandbox lab: a real Asterisk 22 'pbx' (the user's server) and an emulated NovoFon.

Both run from one cached Debian sid root on loopback with distinct addresses, so identifying
a caller by source address means what it means in production: the pbx on 127.0.0.2 stands
for the server's public IP, the provider listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput, EnvironmentProblem, SandboxError
from trunkctl.i18n import Text
from trunkctl.settings import AmiSettings, Settings, sandbox_dir, settings_to_toml

from ._build import STAMP, ensure_root, root_is_ready
from ._configs import (
    ADMIN_USER,
    IP_TRUNK_ENDPOINT,
    LAB_CHANGES,
    LINE_REALM,
    TEST_NUMBERS,
    VERIFICATION_NUMBER,
    ConfigTree,
    InstancePaths,
    StockConfig,
    minimal_tree,
    pbx_files,
    provider_files,
    read_stock_config,
    stock_pbx_tree,
    user_ids,
)
from ._instance import Instance, release_proc, tail

__all__ = ["Sandbox", "SandboxState"]

PBX_ADDRESS = "127.0.0.2"
PROVIDER_ADDRESS = "127.0.0.1"

Progress = Callable[[Text], None]


def _quiet(_: Text) -> None:
    return None


def _port_free(address: str, port: int) -> bool:
    """True when both TCP and UDP ``port`` can be bound on ``address``.

    TCP is tried with SO_REUSEADDR, as Asterisk binds it: connections of a killed Asterisk
    linger in TIME_WAIT for a minute but do not keep its successor off the port.
    """
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


def _port_free_soon(address: str, port: int, wait: float = 3.0) -> bool:
    """:func:`_port_free`, allowing a just-stopped process ``wait`` seconds to let go."""
    deadline = time.monotonic() + wait
    while not _port_free(address, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _free_port(address: str, taken: set[int]) -> int:
    """A port free for TCP and UDP on ``address`` (the kernel picks; we double-check UDP)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((address, 0))
            port = int(s.getsockname()[1])
        if port not in taken and _port_free(address, port):
            taken.add(port)
            return port
    raise SandboxError(
        Text(f"no free port on {address}", f"нет свободного порта на {address}"),
        next_step=Text("Free some ports and run again.", "Освободите порты и запустите снова."),
    )


@dataclass
class SandboxState:
    """What `up` decided (ports, login, mode); persisted in state.json."""

    pbx_sip_port: int = 0
    pbx_ami_port: int = 0
    provider_sip_port: int = 0
    provider_ami_port: int = 0
    line_login: str = ""
    unverified_ip: bool = False
    # "stock" or "minimal"; "" is a sandbox from before the stock pbx (given one at `up`).
    pbx_config: str = ""
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> SandboxState | None:
        try:
            data = json.loads(path.read_text())
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return None


class Sandbox:
    """The sandbox at ``directory`` (default: ``TRUNKCTL_SANDBOX_DIR`` or the cache dir)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or sandbox_dir()
        self.root = self.dir / "root"
        self.secrets_dir = self.dir / "secrets"
        self.state_file = self.dir / "state.json"
        self.settings_file = self.dir / "settings.toml"
        self.pbx = Instance("pbx", self.root, InstancePaths("/srv/trunkctl/pbx"))
        self.provider = Instance("provider", self.root, InstancePaths("/srv/trunkctl/provider"))
        self._stock: StockConfig | None = None

    # -- secrets --------------------------------------------------------------------------
    def _secret_path(self, name: str) -> Path:
        return self.secrets_dir / name

    def _secret(self, name: str, make: Callable[[], str], *, renew: bool = False) -> str:
        path = self._secret_path(name)
        if path.is_file() and not renew:
            return path.read_text().strip()
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.chmod(0o700)
        value = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        path.chmod(0o600)
        return value

    @property
    def line_password_file(self) -> Path:
        return self._secret_path("line.password")

    @property
    def ami_secret_file(self) -> Path:
        return self._secret_path("pbx-ami.secret")

    @property
    def provider_ami_secret_file(self) -> Path:
        return self._secret_path("provider-ami.secret")

    # -- lifecycle ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    @staticmethod
    def _require_root() -> None:
        if os.geteuid() != 0:
            raise EnvironmentProblem(
                Text(
                    "the sandbox needs root (debootstrap, chroot, mount)",
                    "песочнице нужны права root (debootstrap, chroot, mount)",
                ),
                evidence=f"running as uid {os.geteuid()}",
                next_step=Text(
                    "Run it as root: `sudo trunkctl sandbox up`.",
                    "Запустите от root: `sudo trunkctl sandbox up`.",
                ),
            )

    def state(self) -> SandboxState | None:
        """The persisted state, or None before the first `up`."""
        return SandboxState.load(self.state_file)

    def up(
        self,
        *,
        rebuild: bool = False,
        reset: bool = False,
        minimal: bool | None = None,
        unverified_ip: bool | None = None,
        progress: Progress = _quiet,
    ) -> dict[str, Any]:
        """Build (once) and start both instances; idempotent; returns :meth:`status`.

        Never destroys state: an instance that stopped (a crash, a reboot) is started again
        on its own config dir and ports. Only the first `up`, ``reset`` or a change of
        ``minimal`` write the pbx a fresh config, and even they keep its backups folder.
        """
        self._require_root()
        with self._locked():
            state = self.state() or SandboxState()
            wanted = state.pbx_config or "stock"
            if minimal is not None:
                wanted = "minimal" if minimal else "stock"
            if wanted != state.pbx_config:
                state.pbx_config, reset = wanted, True
            if rebuild:
                self._stop_all()
                kept = self._set_aside_pbx_config()
                try:
                    ensure_root(self.dir, rebuild=True, progress=progress)
                finally:  # into the new root, or back into the old one when the build failed
                    if kept is not None:
                        self._bring_back_pbx_config(kept)
            else:
                ensure_root(self.dir, rebuild=False, progress=progress)
            fresh = reset or not self.pbx.has_config() or self.state() is None
            if unverified_ip is not None:
                state.unverified_ip = unverified_ip
            if fresh:
                self._stop_all()
            pbx_up, provider_up = self.pbx.pid() is not None, self.provider.pid() is not None
            if pbx_up and provider_up:
                self._save_state(state)
                if unverified_ip is not None:
                    self.set_ip_verified(not state.unverified_ip)
                self._start_emulator()
                self._write_settings(state)  # cheap, and keeps older files current
                return self.status()
            state = self._choose_ports(
                state, fresh=fresh, running={"pbx": pbx_up, "provider": provider_up}
            )
            if not state.line_login:
                state.line_login = f"{secrets.randbelow(10**6):07d}"
            self._save_state(state)
            progress(
                Text(
                    "starting the pbx and the emulated NovoFon…", "запускаю pbx и эмулятор NovoFon…"
                )
            )
            self._write_provider(state)
            if not provider_up:
                self.provider.prepare(self._provider_tree(state))
                self.provider.start()
                self.set_ip_verified(not state.unverified_ip)
            elif unverified_ip is not None:
                self.set_ip_verified(not state.unverified_ip)
            if not pbx_up:
                if fresh:
                    progress(
                        Text(
                            "writing the pbx a fresh config (backups kept)…",
                            "записываю pbx свежую конфигурацию (резервные копии целы)…",
                        )
                    )
                    self.pbx.prepare(self._pbx_tree(state), keep=(self._backups_name(),))
                else:
                    progress(
                        Text(
                            "restarting the pbx on its own config dir and ports…",
                            "перезапускаю pbx на его же каталоге конфигурации и портах…",
                        )
                    )
                    self.pbx.prepare(None)
                self.pbx.start()
            self._start_emulator()
            self._write_settings(state)
            return self.status()

    def _backups_name(self) -> str:
        """The name of the folder where trunkctl keeps the pbx config's backups."""
        return ConfigDir(self.pbx.etc_dir).backup_dir.name

    def _save_state(self, state: SandboxState) -> None:
        self.state_file.write_text(json.dumps(asdict(state), indent=2))

    def _set_aside_pbx_config(self) -> Path | None:
        """Before a rebuild replaces the root: move the pbx config dir out of it (a rename
        keeps every byte, mode and owner)."""
        if not self.pbx.has_config():
            return None
        kept = self.dir / "pbx-etc.kept"
        if kept.exists():  # set aside by a rebuild that failed; the newer one wins
            shutil.rmtree(kept)
        self.pbx.etc_dir.rename(kept)
        return kept

    def _bring_back_pbx_config(self, kept: Path) -> None:
        """After a rebuild: put the set-aside pbx config dir back in the new root."""
        target = self.pbx.etc_dir
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        kept.rename(target)

    def _choose_ports(
        self, state: SandboxState, *, fresh: bool, running: dict[str, bool]
    ) -> SandboxState:
        """Keep every persisted port; only a fresh start may pick new ones.

        A running instance holds its own ports. A stopped one gets its old ports back (its
        config names them and clients remember them); when another program took one, a
        restart stops with the evidence instead of moving the instance.
        """
        taken: set[int] = set()
        wanted = (
            ("pbx_sip_port", PBX_ADDRESS, "pbx"),
            ("pbx_ami_port", PBX_ADDRESS, "pbx"),
            ("provider_sip_port", PROVIDER_ADDRESS, "provider"),
            ("provider_ami_port", PROVIDER_ADDRESS, "provider"),
        )
        for attr, address, owner in wanted:
            port = getattr(state, attr)
            if port and port not in taken and (running[owner] or _port_free_soon(address, port)):
                taken.add(port)
            elif port and not fresh:
                raise SandboxError(
                    Text(
                        f"the sandbox {owner}'s port {address}:{port} is taken by another program",
                        f"порт {address}:{port} ({owner}) песочницы занят другой программой",
                    ),
                    evidence=f"{attr} = {port} in {self.state_file}; binding it fails",
                    next_step=Text(
                        f"Stop what listens there (`ss -lntup | grep {port}`) and run "
                        "`trunkctl sandbox up` again, or `trunkctl sandbox up --reset` for new "
                        "ports and a fresh pbx config (backups kept).",
                        f"Остановите то, что слушает этот порт (`ss -lntup | grep {port}`), и "
                        "снова выполните `trunkctl sandbox up`, или `trunkctl sandbox up "
                        "--reset` (новые порты и свежая конфигурация pbx, копии сохранятся).",
                    ),
                )
            else:
                setattr(state, attr, _free_port(address, taken))
        return state

    def _write_provider(self, state: SandboxState) -> None:
        self._secret("line.password", lambda: secrets.token_urlsafe(12))
        self._secret("provider-ami.secret", lambda: secrets.token_urlsafe(18))
        self._secret("pbx-ami.secret", lambda: secrets.token_urlsafe(18))

    def _provider_files(self, state: SandboxState) -> dict[str, str]:
        return provider_files(
            self.provider.paths,
            address=PROVIDER_ADDRESS,
            sip_port=state.provider_sip_port,
            ami_port=state.provider_ami_port,
            ami_secret=self.provider_ami_secret_file.read_text().strip(),
            line_login=state.line_login,
            line_password=self.line_password_file.read_text().strip(),
            termination_address=PBX_ADDRESS,
        )

    def _provider_tree(self, state: SandboxState) -> ConfigTree:
        uid, gid = user_ids(self.root)
        return minimal_tree(
            self._provider_files(state), uid, gid, secret_files=("pjsip.conf", "manager.conf")
        )

    def stock_config(self) -> StockConfig:
        """The package's /etc/asterisk from the root (read and checked once per object)."""
        if self._stock is None:
            self._stock = read_stock_config(self.root)
        return self._stock

    def _pbx_tree(self, state: SandboxState) -> ConfigTree:
        secret = self.ami_secret_file.read_text().strip()
        if state.pbx_config == "minimal":
            uid, gid = user_ids(self.root)
            files = pbx_files(
                self.pbx.paths,
                address=PBX_ADDRESS,
                sip_port=state.pbx_sip_port,
                ami_port=state.pbx_ami_port,
                ami_secret=secret,
            )
            return minimal_tree(files, uid, gid, secret_files=("manager.conf",))
        return stock_pbx_tree(
            self.stock_config(),
            self.pbx.paths,
            address=PBX_ADDRESS,
            sip_port=state.pbx_sip_port,
            ami_port=state.pbx_ami_port,
            ami_secret=secret,
        )

    def settings(self) -> Settings:
        """trunkctl settings pointing at the sandbox pbx."""
        state = self.state() or SandboxState()
        return Settings(
            config_dir=self.pbx.etc_dir,
            ami=AmiSettings(
                host=PBX_ADDRESS,
                port=state.pbx_ami_port,
                username="trunkctl",
                secret_file=self.ami_secret_file,
            ),
            asterisk_command=tuple(self.pbx.rx_command()[:-1]),
            log_file=self.pbx.log_file,
            provider_server=f"{PROVIDER_ADDRESS}:{state.provider_sip_port}",
            source=self.settings_file,
        )

    def _start_emulator(self) -> None:
        """The emulated NovoFon HTTP APIs, backed by the provider instance."""
        from ._emulator import start_emulator

        start_emulator(self)

    def _write_settings(self, state: SandboxState) -> None:
        from ._emulator import emulator_settings_toml

        text = settings_to_toml(
            self.settings(),
            header=(
                "trunkctl settings for the sandbox pbx, written by `trunkctl sandbox up`.\n"
                "Use it with `trunkctl --sandbox <command>` (short for --settings <this file>)."
            ),
        )
        text += "\n" + emulator_settings_toml(self)
        self.settings_file.write_text(text)
        self.settings_file.chmod(0o600)

    def _stop_all(self) -> None:
        from ._emulator import stop_emulator

        stop_emulator(self)
        self.pbx.stop()
        self.provider.stop()
        if self.root.exists():
            release_proc(self.root)

    def down(self) -> dict[str, bool]:
        """Stop both instances by pid; the cached root stays."""
        self._require_root()
        from ._emulator import stop_emulator

        with self._locked():
            stopped = {
                "emulator": stop_emulator(self),
                "pbx": self.pbx.stop(),
                "provider": self.provider.stop(),
            }
            if self.root.exists():
                release_proc(self.root)
            return stopped

    # -- control used by tests, the demo and the emulator ---------------------------------
    def reset_pbx(self) -> None:
        """Put the pbx config dir back to its fresh install, byte for byte, and reload it.

        Also removes what a test added (backups, includes); modes and owners too.
        """
        state = self._require_running()
        changed = self.pbx.write_tree(self._pbx_tree(state))
        commands = ["module reload res_pjsip.so", "dialplan reload", "manager reload"]
        covered = ("pjsip", "extensions", "manager")
        if any(c.endswith(".conf") and not c.startswith(covered) for c in changed):
            commands.append("core reload")  # a test changed some other module's file
        for command in commands:
            self.pbx.rx(command)

    def reset_provider(self) -> None:
        """Restore the provider's line password and trunk verification mode."""
        state = self._require_running()
        self.provider.write_tree(self._provider_tree(state))
        self.provider.rx("module reload res_pjsip.so")
        self.provider.rx("dialplan reload")
        self.set_ip_verified(not state.unverified_ip)

    def set_ip_verified(self, verified: bool) -> None:
        """Mark the provider's IP trunk verified (or not yet: every call gets 403)."""
        self.provider.rx(f"database put trunkctl ip_verified {1 if verified else 0}")

    def ip_verified(self) -> bool | None:
        """Whether the provider considers the termination address verified."""
        try:
            out = self.provider.rx("database get trunkctl ip_verified")
        except SandboxError:
            return None
        return "Value: 1" in out

    def set_line_password(self, password: str) -> None:
        """Change the provider's line password (what NovoFon's password reset does)."""
        # ';' is fine: provider_files writes it escaped (\;), as Asterisk wants.
        if any(c in password for c in "\r\n\0") or password != password.strip() or not password:
            raise BadInput(Text("unusable SIP password", "непригодный SIP-пароль"))
        state = self._require_running()
        self._secret("line.password", lambda: password, renew=True)
        self.provider.write_tree(self._provider_tree(state))
        self.provider.rx("module reload res_pjsip.so")

    def _require_running(self) -> SandboxState:
        state = self.state()
        if state is None or self.pbx.pid() is None or self.provider.pid() is None:
            raise SandboxError(
                Text("the sandbox is not running", "песочница не запущена"),
                next_step=Text(
                    "Start it: `trunkctl sandbox up`.", "Запустите её: `trunkctl sandbox up`."
                ),
            )
        return state

    # -- reporting ------------------------------------------------------------------------
    def asterisk_version(self) -> str | None:
        try:
            return str(json.loads((self.root / STAMP).read_text()).get("asterisk"))
        except (OSError, ValueError):
            return None

    def status(self) -> dict[str, Any]:
        """Everything a user or a test needs to use the sandbox (no secret values)."""
        state = self.state() or SandboxState()
        pbx_pid, provider_pid = self.pbx.pid(), self.provider.pid()
        running = pbx_pid is not None and provider_pid is not None
        from ._emulator import emulator_status

        return {
            "running": running,
            "built": root_is_ready(self.root),
            "emulator": emulator_status(self),
            "directory": str(self.dir),
            "asterisk_version": self.asterisk_version(),
            "settings_file": str(self.settings_file) if self.settings_file.exists() else None,
            "pbx": {
                "pid": pbx_pid,
                "address": PBX_ADDRESS,
                "sip_port": state.pbx_sip_port,
                "config_dir": str(self.pbx.etc_dir),
                "config": state.pbx_config or "stock",
                "stock_changes": [{"file": name, "change": change} for name, change in LAB_CHANGES]
                if state.pbx_config != "minimal"
                else None,
                "log_file": str(self.pbx.log_file),
                "rss_kb": self.pbx.rss_kb(),
                "ami": {
                    "host": PBX_ADDRESS,
                    "port": state.pbx_ami_port,
                    "username": "trunkctl",
                    "secret_file": str(self.ami_secret_file),
                },
                # The lab's broad user (Command, PJSIPShow*) for tests and tooling; trunkctl
                # itself logs in as the least-privilege "trunkctl" above.
                "ami_admin": {
                    "host": PBX_ADDRESS,
                    "port": state.pbx_ami_port,
                    "username": ADMIN_USER,
                    "secret_file": str(self.ami_secret_file),
                },
                "asterisk_command": self.pbx.rx_command()[:-1],
            },
            "provider": {
                "pid": provider_pid,
                "sip_host": PROVIDER_ADDRESS,
                "sip_port": state.provider_sip_port,
                "realm": LINE_REALM,
                "log_file": str(self.provider.log_file),
                "rss_kb": self.provider.rss_kb(),
                "ami": {
                    "host": PROVIDER_ADDRESS,
                    "port": state.provider_ami_port,
                    "username": "sandbox",
                    "secret_file": str(self.provider_ami_secret_file),
                },
                "asterisk_command": self.provider.rx_command()[:-1],
                "line": {"login": state.line_login, "password_file": str(self.line_password_file)},
                "ip_trunk": {
                    "endpoint": IP_TRUNK_ENDPOINT,
                    "termination_address": PBX_ADDRESS,
                    "mode": "unverified" if state.unverified_ip else "verified",
                    "verified": self.ip_verified() if running else None,
                },
                "verification_number": VERIFICATION_NUMBER,
                "test_numbers": [
                    {
                        "number": t.number,
                        "behaviour": t.behaviour,
                        "sip_code": t.sip_code,
                        "description": t.description.en,
                        "description_ru": t.description.ru,
                    }
                    for t in TEST_NUMBERS
                ],
            },
        }

    def log_path(self, which: str) -> Path:
        """The messages log of ``pbx`` or ``provider``."""
        if which not in ("pbx", "provider"):
            raise BadInput(
                Text(f"no such instance: {which!r}", f"нет такого экземпляра: {which!r}"),
                next_step=Text("Use pbx or provider.", "Укажите pbx или provider."),
            )
        return (self.pbx if which == "pbx" else self.provider).log_file

    def logs(self, which: str, lines: int = 50) -> str:
        """The tail of an instance's log."""
        return tail(self.log_path(which), lines)

    def wait_registered(self, timeout: float = 10.0) -> bool:
        """Poll the pbx until an outbound registration shows Registered (tests, demo).

        After a reload Asterisk may try before the auth object exists, then wait a whole
        retry_interval; nudging it with ``pjsip send register`` keeps the wait short.
        """
        deadline = time.monotonic() + timeout
        nudged = time.monotonic()
        while time.monotonic() < deadline:
            out = self.pbx.rx("pjsip show registrations")
            if "Registered" in out and "Unregistered" not in out and "Rejected" not in out:
                return True
            if time.monotonic() - nudged > 2.0:
                self.pbx.rx("pjsip send register *all")
                nudged = time.monotonic()
            time.sleep(0.2)
        return False
