"""The `tailor` command line: --help everywhere, README and CI stay true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [[], ["serve"], ["demo"], ["catalog"], ["catalog", "import"],
                                  ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
                                  ["migrate"], ["train"],
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


def test_keys_list_and_revoke(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "TAILOR_DATA_DIR": str(tmp_path),
           "TAILOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def tailor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=120)

    admin = tailor("keys", "create", "admin", "--name", "ops")
    assert admin.returncode == 0, admin.stderr
    widget = tailor("keys", "create", "widget", "--name", "shop")
    listed = tailor("keys", "list").stdout.splitlines()
    assert [line.split()[1] for line in listed] == ["admin", "widget"]
    assert widget.stdout.strip() not in "\n".join(listed)  # never the secret
    widget_id = listed[1].split()[0]
    out = tailor("keys", "revoke", widget_id)
    assert out.returncode == 0 and "revoked key" in out.stdout
    assert "revoked" in tailor("keys", "list").stdout.splitlines()[1]
    last = tailor("keys", "revoke", listed[0].split()[0])
    assert last.returncode == 2 and "last admin key" in last.stderr
    assert tailor("keys", "revoke", "999").returncode == 2


def test_a_taken_port_gets_a_clear_message(tmp_path: Path) -> None:
    import os
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120,
                             env={**os.environ, "TAILOR_DATA_DIR": str(tmp_path)})
    assert out.returncode == 1
    assert f"127.0.0.1:{port}" in out.stderr and "PORT=8001" in out.stderr
