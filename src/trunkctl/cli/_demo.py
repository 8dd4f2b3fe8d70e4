"""`trunkctl demo`: the seed's flow on the sandbox (grows with each layer)."""

from __future__ import annotations

from trunkctl.i18n import Text

from ._app_state import JsonOpt, out


def demo(json_: JsonOpt = False) -> None:
    """Start the sandbox (if needed) and show what it offers."""
    from trunkctl.sandbox import Sandbox

    from ._sandbox import print_status

    o = out(json_)
    o.progress(
        Text(
            "Step 1: the sandbox (a real Asterisk 22 + an emulated NovoFon)",
            "Шаг 1: песочница (настоящий Asterisk 22 + эмулятор NovoFon)",
        )
    )
    status = Sandbox().up(progress=o.progress)
    if o.json:
        o.emit_json({"steps": [{"step": "sandbox", "ok": status["running"], "status": status}]})
        return
    print_status(status)
