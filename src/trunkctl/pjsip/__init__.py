"""The trunk model: a provider trunk as data and the pjsip objects and dialplan it becomes."""

from ._trunk import (
    DialplanContext,
    Mode,
    PjsipObject,
    TrunkConfig,
    TrunkSpec,
    check_app,
    parse_bind,
    render_trunk,
)

__all__ = [
    "DialplanContext",
    "Mode",
    "PjsipObject",
    "TrunkConfig",
    "TrunkSpec",
    "check_app",
    "parse_bind",
    "render_trunk",
]
