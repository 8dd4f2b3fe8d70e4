"""`python -m build` makes a wheel with the library and the CLI only (no tests, no bench,
no scripts), with the pinned dependencies, and `twine check` passes on both artifacts."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def test_the_wheel_holds_the_library_and_cli_only(dist: Path) -> None:
    (wheel,) = dist.glob("trunkctl-*-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    version = wheel.name.split("-")[1]
    assert tops == {"trunkctl", f"trunkctl-{version}.dist-info"}
    assert "trunkctl/cli/_exporter.py" in names and "trunkctl/monitor/_monitor.py" in names
    assert not [n for n in names if "/tests/" in n or n.startswith(("tests/", "bench/"))]
    meta = zipfile.ZipFile(wheel).read(f"trunkctl-{version}.dist-info/METADATA").decode()
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "prometheus-client==0.26.0" in pinned
    for dep in pinned:  # every runtime dependency, exactly pinned, and no dev tool
        assert f"Requires-Dist: {dep}" in meta
    assert "Requires-Dist: pytest" not in meta.split("Provides-Extra")[0]
    entry = zipfile.ZipFile(wheel).read(f"trunkctl-{version}.dist-info/entry_points.txt")
    assert b"trunkctl = trunkctl.cli:main" in entry


def test_the_sdist_can_rebuild_and_test(dist: Path) -> None:
    (sdist,) = dist.glob("trunkctl-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tops = {n.split("/")[1] for n in tar.getnames() if "/" in n}
    assert {"src", "tests", "pyproject.toml", "README.md"} <= tops
    assert ".venv" not in tops


def test_twine_check_is_clean(dist: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2
