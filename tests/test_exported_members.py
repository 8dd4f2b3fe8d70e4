"""Each package's ``__all__`` is exactly its public surface (httpx's test, for every layer)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import trunkctl


def _packages() -> list[str]:
    names = ["trunkctl"]
    for info in pkgutil.walk_packages(trunkctl.__path__, "trunkctl."):
        if info.ispkg and info.name != "trunkctl.cli":
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _packages())
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    for export in declared:  # every export resolves (lazy ones land in the module's vars)
        assert getattr(module, export, None) is not None or export in vars(module), export
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attr not in {"annotations", "TYPE_CHECKING"}
    }
    declared_public = [n for n in declared if not n.startswith("__")]
    assert sorted(declared_public) == sorted(public), name
