"""scripts/install.sh, really run: `pipx install` into a throwaway home (from PyPI and this
checkout), the user unit written with ExecStart= on the command pipx put there, an upgrade
(run again), and the uninstall that keeps the config and the store.

Skips without pipx (Debian: `apt install pipx`). Takes ~10 s per pipx run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "scripts" / "install.sh"

pytestmark = pytest.mark.slow


def run_install(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIPX_", "XDG_", "VIRTUAL_ENV", "PYTHON"))
    }
    # /usr/bin first: pipx must not run under this venv's python
    clean.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", **env)
    return subprocess.run(
        ["bash", str(INSTALL), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean,
        check=False,
    )


def exec_start(unit: Path) -> str:
    (line,) = [
        s for s in unit.read_text(encoding="utf-8").splitlines() if s.startswith("ExecStart=")
    ]
    return line.removeprefix("ExecStart=")


def test_install_upgrade_and_uninstall_with_pipx(tmp_path: Path) -> None:
    if shutil.which("pipx") is None:
        pytest.skip("pipx not installed (Debian: apt install pipx)")
    home = tmp_path / "home"
    home.mkdir()
    unit = home / ".config" / "systemd" / "user" / "watcher.service"
    state = home / ".local" / "state" / "followup-watcher"

    first = run_install(home)
    assert first.returncode == 0, first.stderr
    command = home / ".local" / "bin" / "watcher"
    version = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0 and "version" in version.stdout, version.stderr
    assert exec_start(unit) == "%h/.local/bin/watcher run"
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert "pipx ensurepath" in first.stdout  # ~/.local/bin is not on this PATH
    assert "systemctl --user enable --now watcher.service" in first.stdout
    # Everything else in the unit is the repository's.
    ours = (ROOT / "systemd" / "watcher.service").read_text(encoding="utf-8")
    assert unit.read_text(encoding="utf-8") == ours

    # Upgrade (run again), here with pipx's commands elsewhere: the unit follows them.
    elsewhere = home / "bin"
    again = run_install(home, PIPX_BIN_DIR=str(elsewhere))
    assert again.returncode == 0, again.stderr
    assert exec_start(unit) == f"{elsewhere}/watcher run"
    assert os.access(elsewhere / "watcher", os.X_OK)

    (state / "watcher.sqlite3").write_text("kept", encoding="utf-8")
    gone = run_install(home, "--uninstall", PIPX_BIN_DIR=str(elsewhere))
    assert gone.returncode == 0, gone.stderr
    assert not unit.exists() and not (elsewhere / "watcher").exists()
    assert (state / "watcher.sqlite3").read_text(encoding="utf-8") == "kept"
    assert "kept your config" in gone.stdout


def test_install_without_pipx_says_how_to_get_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with bash and sed but no pipx
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "sed"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [str(bin_dir / "bash"), str(INSTALL)],
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "PATH": str(bin_dir)},
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "install.sh: pipx is missing: sudo apt install pipx (Debian 12, Ubuntu),"
        " then run this again"
    )
