"""AMI, ARI and HTTP rules: open binds, missing ACLs, weak secrets (judged, never shown)."""

from __future__ import annotations

import json

from .conftest import HEALTHY, Lint, evidence, only, variant

# manager.conf as distributions' samples and public repos have it (novofon.md's last item).
OPEN_AMI = """[general]
enabled = yes
port = 5038
bindaddr = 0.0.0.0

[admin]
secret = amp111
read = all
write = all
"""


def _ami(text: str) -> dict[str, str]:
    return dict(HEALTHY, **{"manager.conf": text})


def test_open_sample_ami_triggers_bind_acl_and_secret_rules(run: Lint) -> None:
    report = run(_ami(OPEN_AMI))
    assert [f.rule_id for f in report.findings] == ["AMI002", "AMI003", "AMI001", "AMI005"]
    assert "amp111" not in json.dumps(report.to_dict("ru"), ensure_ascii=False)
    assert evidence(only(report, "AMI003")) == "manager.conf:7: [admin] secret = ********"


def test_ami001_default_bind_is_every_address(run: Lint) -> None:
    files = variant(HEALTHY, "manager.conf", "bindaddr = 127.0.0.1\n", "")
    (f,) = only(run(files), "AMI001")
    assert "no bindaddr" in f.message.en
    assert only(run(HEALTHY), "AMI001") == []


def test_ami_rules_skip_a_disabled_manager(run: Lint) -> None:
    files = _ami(OPEN_AMI.replace("enabled = yes", "enabled = no"))
    assert [f for f in run(files).findings if f.rule_id.startswith("AMI")] == []


def test_ami002_without_acl_on_loopback_is_a_warning(run: Lint) -> None:
    files = variant(
        HEALTHY, "manager.conf", "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n", ""
    )
    (f,) = only(run(files), "AMI002")
    assert f.severity == "warning"


def test_ami003_weak_secrets(run: Lint) -> None:
    for secret, why in (
        ("mysecret", "sample"),
        ("trunkctl", "user name"),
        ("trunkctl2024!", "user name"),
        ("Xy7-pq", "only 6 characters"),
        ("4815162342108", "only digits"),
        ("abababababababab", "handful"),
        ("Supersecret2024", "word with a few digits"),
    ):
        files = variant(
            HEALTHY, "manager.conf", "secret = q7Vd-2mXr9LpT4wKz8sN", f"secret = {secret}"
        )
        (f,) = only(run(files), "AMI003")
        assert why in f.message.en, secret
        if "trunkctl" not in secret:  # the user name itself is shown, of course
            assert secret not in f.message.en + f.message.ru + evidence([f])
    assert only(run(HEALTHY), "AMI003") == []


def test_ami004_typo_leaves_ami_open(run: Lint) -> None:
    files = variant(HEALTHY, "manager.conf", "bindaddr = 127.0.0.1", "bindaddress = 127.0.0.1")
    files = variant(files, "manager.conf", "permit = 127.0.0.1", "premit = 127.0.0.1")
    report = run(files)
    assert [f.message.en.split(": ")[1].split(" ")[0] for f in only(report, "AMI004")] == [
        "'bindaddress'",
        "'premit'",
    ]
    assert len(only(report, "AMI001")) == 1  # and the typo really leaves it on every address
    assert only(run(HEALTHY), "AMI004") == []


ARI_OPEN = {
    "http.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\nbindport = 8088\n",
    "ari.conf": "[general]\nenabled = yes\n\n[asterisk]\ntype = user\npassword = asterisk\n",
}


def test_ari001_and_http001_open_ari_with_sample_password(run: Lint) -> None:
    report = run(dict(HEALTHY, **ARI_OPEN))
    (ari,) = only(report, "ARI001")
    assert ari.severity == "error"
    assert "ari.conf:6: [asterisk] password = ********" in ari.evidence
    (http,) = only(report, "HTTP001")
    assert http.evidence == ("http.conf:3: [general] bindaddr = 0.0.0.0",)


def test_ari001_local_only_is_a_warning_and_crypt_is_not_judged(run: Lint) -> None:
    local = {**HEALTHY, **ARI_OPEN, "http.conf": HEALTHY["http.conf"]}
    (f,) = only(run(local), "ARI001")
    assert f.severity == "warning"
    crypt = dict(local, **{"ari.conf": ARI_OPEN["ari.conf"] + "password_format = crypt\n"})
    assert only(run(crypt), "ARI001") == []


def test_ari_off_when_http_does_not_listen(run: Lint) -> None:
    # enabled=yes without bindaddr: main/http.c cannot resolve a NULL host, nothing listens.
    files = {**HEALTHY, **ARI_OPEN, "http.conf": "[general]\nenabled = yes\n"}
    report = run(files)
    assert only(report, "ARI001") == [] and only(report, "HTTP001") == []
    assert only(run(HEALTHY), "HTTP001") == []
