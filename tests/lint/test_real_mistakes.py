"""Each mistake that reference/novofon.md lists from public Asterisk + NovoFon configs, and
the seed guide's own config, triggers the rule meant for it (rule tests: test_rules_*.py)."""

from __future__ import annotations

import pytest

from trunkctl.lint import LintFacts

from .conftest import HEALTHY, NOVOFON, Lint, only, variant
from .test_rules_access import OPEN_AMI
from .test_rules_conf import SEED_AUTH, SEED_AUTH_RU
from .test_rules_pjsip import CLASSIC

NAT = LintFacts(asterisk_version="22.10.1", provider=NOVOFON, public_ip="109.73.192.126")


def _seed(auth: str) -> dict[str, str]:
    # The seed guide edits only the auth section of an otherwise working trunk.
    start = HEALTHY["pjsip.conf"].index("[novofon]\ntype = auth")
    end = HEALTHY["pjsip.conf"].index("[novofon]\ntype = aor")
    pjsip = HEALTHY["pjsip.conf"][:start] + auth + "\n" + HEALTHY["pjsip.conf"][end:]
    return dict(HEALTHY, **{"pjsip.conf": pjsip})


MISTAKES: dict[str, tuple[dict[str, str], str]] = {
    "seed: YOUR_SIP_LOGIN_HERE in auth": (_seed(SEED_AUTH), "CONF002"),
    "seed: ТВОЙ_ЛОГИН in auth": (_seed(SEED_AUTH_RU), "CONF002"),
    "auth = novofon instead of outbound_auth": (
        dict(HEALTHY, **{"pjsip.conf": CLASSIC}),
        "PJSIP001",
    ),
    "IP_ADDRESS_OF_NOVOFON_HERE left in identify": (
        variant(
            HEALTHY, "pjsip.conf", "match = sip.novofon.ru", "match = IP_ADDRESS_OF_NOVOFON_HERE"
        ),
        "CONF002",
    ),
    "Dial(SIP/...) without chan_sip": (
        variant(
            HEALTHY,
            "extensions.conf",
            "Dial(PJSIP/${EXTEN}@novofon,60)",
            "Dial(SIP/${EXTEN}@novofon,60)",
        ),
        "DIAL003",
    ),
    "endpoint context missing from extensions.conf": (
        variant(HEALTHY, "extensions.conf", "[from-novofon]", "[from-trunk]"),
        "DIAL002",
    ),
    # trunkctl wrote the trunk (its marker is above the endpoint), [outgoing] was renamed.
    "originate Local/NUMBER@outgoing without [outgoing]": (
        variant(
            variant(
                variant(HEALTHY, "extensions.conf", "[outgoing]", "[out]"),
                "extensions.conf",
                "include => outgoing",
                "include => out",
            ),
            "pjsip.conf",
            "[novofon]\ntype = endpoint",
            "; trunkctl: novofon endpoint, managed by `trunkctl setup`\n[novofon]\ntype = endpoint",
        ),
        "DIAL001",
    ),
    "8-prefixed numbers sent to NovoFon": (
        variant(
            HEALTHY,
            "extensions.conf",
            "exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},7${EXTEN:1},1)",
            "exten => _8XXXXXXXXXX,1,Dial(PJSIP/${EXTEN}@novofon)",
        ),
        "DIAL007",
    ),
    "one-way audio: no external_media_address behind NAT": (HEALTHY, "PJSIP011"),
    "anonymous inbound endpoint": (
        dict(
            HEALTHY,
            **{
                "pjsip.conf": HEALTHY["pjsip.conf"]
                + "\n[anonymous]\ntype = endpoint\ncontext = from-novofon\nallow = alaw\n"
            },
        ),
        "PJSIP017",
    ),
    "weak AMI secret on 0.0.0.0": (dict(HEALTHY, **{"manager.conf": OPEN_AMI}), "AMI003"),
    "AMI bound to 0.0.0.0": (dict(HEALTHY, **{"manager.conf": OPEN_AMI}), "AMI001"),
    "ARI with a weak password on 0.0.0.0": (
        {
            **HEALTHY,
            "http.conf": "[general]\nenabled=yes\nbindaddr=0.0.0.0\n",
            "ari.conf": "[general]\nenabled=yes\n[asterisk]\ntype=user\npassword=asterisk\n",
        },
        "ARI001",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_real_mistake_triggers_its_rule(run: Lint, mistake: str) -> None:
    files, rule_id = MISTAKES[mistake]
    found = only(run(files, NAT), rule_id)
    assert found, mistake
    assert found[0].severity in ("error", "warning")
