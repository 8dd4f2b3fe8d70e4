"""Every public function and class of ``trunkctl.codes`` says its contract in a docstring.

(``__all__`` itself is checked for every package by tests/test_exported_members.py.)
"""

import inspect

import trunkctl.codes


def test_every_public_function_and_class_has_a_docstring() -> None:
    missing = [
        name
        for name in trunkctl.codes.__all__
        if (inspect.isfunction(obj := getattr(trunkctl.codes, name)) or inspect.isclass(obj))
        and not (obj.__doc__ or "").strip()
    ]
    assert missing == []
