"""The trace finds Asterisk's SIP ports with trunkctl's narrow AMI user (no ``command``
class): through the control socket, as status and apply read CLI-only facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkctl.asterisk import ami_client
from trunkctl.trace import asterisk_endpoints

from ..conftest import SandboxInfo
from ..provision.test_ami_privilege import narrow_settings

pytestmark = pytest.mark.sandbox


async def test_transports_come_from_the_control_socket(pbx: SandboxInfo, tmp_path: Path) -> None:
    mine = narrow_settings(pbx, tmp_path)
    port = int(pbx.status["pbx"]["sip_port"])
    async with ami_client(mine) as ami:
        endpoints, why = await asterisk_endpoints(ami, mine)
        assert why is None and [e.port for e in endpoints] == [port], endpoints
        # AMI alone cannot tell this user (the control case).
        endpoints, why = await asterisk_endpoints(ami)
    assert endpoints == [] and why is not None and "command" in why.en
