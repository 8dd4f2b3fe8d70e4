"""Package exports imported on first use (PEP 562 module ``__getattr__``).

A package's ``__init__`` that imports every submodule makes each user pay for all of them:
``trunkctl api call`` needs only the HTTP call helpers of ``trunkctl.calling``, not the
campaign runner and the AMI client behind it (~40–100 ms at start-up). Packages list their
exports once, name → submodule; type checkers still see them through ``TYPE_CHECKING``
imports in the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``table[name]`` (a submodule
    name such as ``"_campaign"``) on first access and caches the value in the package."""

    def __getattr__(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
