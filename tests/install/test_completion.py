"""The completion scripts ./scripts/install writes (its embedded generator, run here against
this checkout): bash and zsh complete commands, a group's subcommands and options."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    text = (REPO / "scripts/install").read_text()
    match = re.search(r"<<'PYEOF'\n(.*?)\nPYEOF\n", text, re.S)
    assert match, "the completion generator is not in scripts/install"
    out = tmp_path_factory.mktemp("completion")
    bash, zsh = out / "trunkctl.bash", out / "_trunkctl"
    subprocess.run([sys.executable, "-c", match.group(1), str(bash), str(zsh)], check=True)
    return bash, zsh


CASES = [
    (["trunkctl", "expo"], "exporter"),
    (["trunkctl", "sandbox", "u"], "up"),
    (["trunkctl", "exporter", "--li"], "--listen"),
    (["trunkctl", "--json", "credentials", "s"], "set"),
]


@pytest.mark.parametrize(("words", "expected"), CASES)
def test_bash(scripts: tuple[Path, Path], words: list[str], expected: str) -> None:
    line = " ".join(words)
    done = subprocess.run(
        [
            "bash",
            "-c",
            f". {scripts[0]}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _trunkctl; "
            'echo "${COMPREPLY[*]}"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [expected], done


@pytest.mark.parametrize(("words", "expected"), CASES)
def test_zsh(scripts: tuple[Path, Path], words: list[str], expected: str) -> None:
    zsh = shutil.which("zsh")
    assert zsh, "zsh is missing: apt-get install zsh (scripts/test does it)"
    # compadd and _files exist only inside a completion widget: stand-ins that print.
    prelude = "compadd() { print -r -- ${@:2}; }; _files() { :; }; "
    quoted = " ".join(f"'{w}'" for w in words)
    done = subprocess.run(
        [zsh, "-f", "-c", f"{prelude} words=({quoted}); CURRENT={len(words)}; . {scripts[1]}"],
        capture_output=True,
        text=True,
        check=True,
    )
    offered = done.stdout.split()
    prefix = words[-1]
    assert [w for w in offered if w.startswith(prefix)] == [expected], done
