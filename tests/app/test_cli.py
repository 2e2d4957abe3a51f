"""The `tailor` command line: --help everywhere, README and CI stay true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [[], ["serve"], ["demo"], ["catalog"], ["catalog", "import"],
                                  ["keys", "create"], ["migrate"], ["train"],
                                  ["train", "preferences"]])
def test_help_everywhere(args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "app.cli", *args, "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Usage" in out.stdout


def test_readme_opens_with_the_two_commands_and_ci_runs_make_test() -> None:
    head = (ROOT / "README.md").read_text().splitlines()[:12]
    commands = [line.split("#")[0].strip() for line in head if line.startswith("make ")]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
