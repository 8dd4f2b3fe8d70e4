"""Facts about Asterisk 22 the generated option lists do not carry, each with its source.

The pjsip option lists themselves come from the running Asterisk (``_asterisk_options``,
made by scripts/gen_asterisk_options.py); what is here is read from the Asterisk 22.10
sources named next to each table, because no CLI command prints it.
"""

from __future__ import annotations

from typing import Final

from ._asterisk_options import OPTIONS

__all__ = [
    "AMI_GENERAL_OPTIONS",
    "AMI_USER_OPTIONS",
    "AMI_USER_PREFIXES",
    "NOT_IN_PJSIP_CONF",
    "PJSIP_TYPES",
    "SINGLE_OBJECT_TYPES",
    "option_info",
    "option_names",
]

# Module that registers each type kept in pjsip.conf: the sorcery mappings
# ast_sorcery_apply_default(..., "config", "pjsip.conf,criteria=type=<type>") in
# res/res_pjsip/*.c and res/res_pjsip_*.c.
PJSIP_TYPES: Final[dict[str, str]] = {
    "endpoint": "res_pjsip",
    "auth": "res_pjsip",
    "aor": "res_pjsip",
    "transport": "res_pjsip",
    "domain_alias": "res_pjsip",
    "global": "res_pjsip",
    "system": "res_pjsip",
    "registration": "res_pjsip_outbound_registration",
    "identify": "res_pjsip_endpoint_identifier_ip",
    "acl": "res_pjsip_acl",
    "outbound-publish": "res_pjsip_outbound_publish",
    "resource_list": "res_pjsip_pubsub",
    "inbound-publication": "res_pjsip_pubsub",
    "asterisk-publication": "res_pjsip_publish_asterisk",
    "phoneprov": "res_pjsip_phoneprov_provider",
}
# Documented types Asterisk does not read from pjsip.conf: contacts and subscriptions live
# in astdb (res_pjsip/location.c, res_pjsip_pubsub.c), wizards in pjsip_wizard.conf.
NOT_IN_PJSIP_CONF: Final[dict[str, str]] = {
    "contact": "astdb (made from an aor's contact= or by REGISTER)",
    "subscription_persistence": "astdb",
    "wizard": "pjsip_wizard.conf",
}
# "pjsip.conf,criteria=type=global,single_object=yes,explicit_name=global" (config_global.c,
# config_system.c): one object at most, and a section named exactly [global] / [system]
# whose options are all known is that type even without type=.
SINGLE_OBJECT_TYPES: Final = ("global", "system")
# Option names every sorcery object accepts beyond the documented ones: "^@" extended
# fields (main/sorcery.c __ast_sorcery_object_register), "^event_" on inbound-publication
# (res_pjsip_pubsub.c), anything on phoneprov (res_pjsip_phoneprov_provider.c, "^").
EXTRA_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "*": ("@",),
    "inbound-publication": ("event_",),
    "phoneprov": ("",),
}

# manager.conf, from main/manager.c __init_manager(): [general] keys (anything else logs
# "Invalid keyword <%s> = <%s> in manager.conf [general]") plus the TLS keys
# ast_tls_read_conf() takes (main/tcptls.c); user keys (anything else is ignored).
AMI_GENERAL_OPTIONS: Final = frozenset(
    {
        "enabled",
        "webenabled",
        "port",
        "bindaddr",
        "brokeneventsaction",
        "allowmultiplelogin",
        "displayconnects",
        "timestampevents",
        "debug",
        "httptimeout",
        "authtimeout",
        "authlimit",
        "channelvars",
        "disabledevents",
        "tlsenable",
        "sslenable",
        "tlsbindaddr",
        "sslbindaddr",
        "tlscertfile",
        "sslcert",
        "tlscert",
        "tlsprivatekey",
        "sslprivatekey",
        "tlscipher",
        "sslcipher",
        "tlsservercipherorder",
        "tlsdisablev1",
        "tlsdisablev11",
        "tlsdisablev12",
    }
)
AMI_USER_OPTIONS: Final = frozenset(
    {
        "secret",
        "deny",
        "permit",
        "acl",
        "read",
        "write",
        "displayconnects",
        "allowmultiplelogin",
        "writetimeout",
        "setvar",
    }
)
AMI_USER_PREFIXES: Final = ("eventfilter",)
# find_option_cb() in main/config_options.c compares option names with strcasecmp().
_BY_LOWER: Final[dict[str, dict[str, tuple[str, str, str]]]] = {
    type_: {name.lower(): info for name, info in OPTIONS.get(module, {}).get(type_, {}).items()}
    for type_, module in PJSIP_TYPES.items()
}


def option_names(type_: str) -> list[str]:
    """Every documented option name of a pjsip type (for "did you mean")."""
    return list(OPTIONS.get(PJSIP_TYPES.get(type_, ""), {}).get(type_, {}))


def option_info(type_: str, option: str) -> tuple[str, str, str] | None:
    """``(kind, default, since)`` of a pjsip option (case-insensitive, as aco compares).

    ``("", "", "")`` for names accepted by prefix; ``None`` when Asterisk would reject it
    (or the type is not a pjsip.conf type).
    """
    if type_ not in PJSIP_TYPES:
        return None
    low = option.lower()
    info = _BY_LOWER[type_].get(low)
    if info is not None:
        return info
    prefixes = EXTRA_PREFIXES["*"] + EXTRA_PREFIXES.get(type_, ())
    if any(low.startswith(p) for p in prefixes):
        return ("", "", "")
    return None
