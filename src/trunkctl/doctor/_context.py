"""What the live checks share during one run: the settings, the trunk, one AMI session.

Several checks need the same answer (the AMI login, the trunk's status, the OPTIONS
probe); each is started once, as a task, and awaited through ``asyncio.shield`` so that a
check hitting its own timeout does not cancel the work another check is waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from trunkctl.errors import AmiError, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.providers import ProviderProfile
from trunkctl.settings import Settings

from ._config import TrunkFacts

if TYPE_CHECKING:
    from trunkctl.ami import AmiClient, Message, Subscription
    from trunkctl.provision import TrunkStatus
    from trunkctl.sip import OptionsResult, TransportName

__all__ = ["DoctorContext", "Skip"]

T = TypeVar("T")


class Skip(Exception):
    """Raised inside a check: it cannot run (its ``message`` says why), so it is skipped."""

    def __init__(self, message: Text, fix: Text | None = None) -> None:
        super().__init__(message.en)
        self.message = message
        self.fix = fix


class DoctorContext:
    """Shared state of one doctor run; close it with :meth:`aclose`."""

    def __init__(
        self,
        settings: Settings,
        trunk: TrunkFacts,
        *,
        provider: ProviderProfile | None = None,
        public_ip: str | None = None,
        probe_timeout: float = 2.0,
        ami_timeout: float = 3.0,
    ) -> None:
        self.settings = settings
        self.trunk = trunk
        self.provider = provider
        self.public_ip = public_ip
        self.probe_timeout = probe_timeout
        self.ami_timeout = ami_timeout
        self.facts: dict[str, Any] = {}
        """Facts checks learn for later ones and for the lint: ``asterisk_version``, ``modules``."""
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._client: AmiClient | None = None
        self._registry: Subscription | None = None

    def _once(self, key: str, make: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(make())
        return asyncio.shield(task)

    async def _connect(self) -> AmiClient:
        from trunkctl.asterisk import ami_client

        client = ami_client(self.settings, events="system", timeout=self.ami_timeout)
        client.connect_timeout = self.ami_timeout
        self._client = client
        await client.connect()
        self._registry = client.subscribe({"Event": "Registry"})
        return client

    async def ami(self) -> AmiClient:
        """The logged-in AMI session (one per run); raises what the login raised."""
        return await self._once("ami", self._connect)

    async def ami_or_skip(self) -> AmiClient:
        """The AMI session, or :class:`Skip` naming the AMI check as the reason."""
        try:
            return await self.ami()
        except (TrunkctlError, TimeoutError) as exc:
            raise Skip(
                Text(
                    "needs AMI, which is not available (see the AMI check)",
                    "нужен AMI, а он недоступен (см. проверку AMI)",
                )
            ) from exc

    def registry_events(self) -> list[Message]:
        """``Registry`` events Asterisk sent since the login (each REGISTER's outcome)."""
        seen: list[Message] = []
        while self._registry is not None and (msg := self._registry.get_nowait()) is not None:
            seen.append(msg)
        self.facts.setdefault("registry_events", []).extend(seen)
        return list(self.facts["registry_events"])

    async def status(self, *, probe: bool = False) -> TrunkStatus:
        """The trunk's status from Asterisk (trunkctl.provision.trunk_status).

        With ``probe`` and a registration that is not up, it adds the REGISTER exchange.
        """
        from trunkctl.provision import trunk_status

        return await self._once(
            f"status-{probe}", lambda: trunk_status(self.settings, self.trunk.name, probe=probe)
        )

    async def options(self) -> OptionsResult:
        """One OPTIONS probe to the trunk's provider, from the transport's own address."""
        from trunkctl.sip import options

        host = self.trunk.host
        if host is None:
            raise Skip(
                Text("no provider address in the trunk's config", "в настройках транка нет адреса")
            )
        transport: TransportName = "tcp" if self.trunk.transport == "tcp" else "udp"
        return await self._once(
            "options",
            lambda: options(
                host,
                self.trunk.port,
                transport=transport,
                timeout=self.probe_timeout,
                local_address=self.trunk.bind_ip,
            ),
        )

    async def aclose(self) -> None:
        """Cancel unfinished shared work and log off AMI."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._registry is not None:
            self._registry.close()
        if self._client is not None:
            with contextlib.suppress(AmiError):
                await self._client.close()
