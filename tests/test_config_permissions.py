"""A config (or a file it names) that another user could change is refused, as ssh and sudo do.

Whoever can edit the config can point password_command at a program of their own, which then
runs with your rights (root's, for the system service); whoever can replace a ca_file can read
your password on the way to the server. So the file must be owned by you or root, not writable
by its group or others, and every directory on the way to it owned by you or root and not
writable by group or others unless sticky (like /tmp). Tests that need a file of another user
chown one, which only root can: CI runs as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config.settings import load_settings
from watcher.errors import ConfigError

OTHER_UID = 4243
ME = os.geteuid()
as_root = pytest.mark.skipif(ME != 0, reason="only root can give a file to another user")

CONFIG = """
[[accounts]]
name = "work"
host = "imap.example.com"
addresses = ["me@example.com"]
"""


@pytest.fixture
def private_dir(tmp_path: Path) -> Path:
    """A directory only its owner can write to, in directories only root or you can write to."""
    directory = tmp_path / "private"
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)
    return directory


def _config(directory: Path, text: str = CONFIG, mode: int = 0o600) -> Path:
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o400, 0o640])
def test_a_file_only_you_can_write_is_accepted(private_dir: Path, mode: int) -> None:
    assert load_settings(_config(private_dir, mode=mode)).accounts


@pytest.mark.parametrize(
    ("mode", "who", "fix"),
    [
        (0o664, "its group", "g-w"),
        (0o660, "its group", "g-w"),
        (0o620, "its group", "g-w"),
        (0o602, "others", "o-w"),
        (0o646, "others", "o-w"),
        (0o666, "its group and others", "go-w"),
    ],
)
def test_a_file_writable_by_group_or_others_is_refused(
    private_dir: Path, mode: int, who: str, fix: str
) -> None:
    config = _config(private_dir, mode=mode)
    assert _refusal(config) == f"config.toml is writable by {who}; chmod {fix} {config}"


@as_root
def test_a_file_of_another_user_is_refused(private_dir: Path) -> None:
    config = _config(private_dir)
    os.chown(config, OTHER_UID, -1)
    assert _refusal(config) == (
        f"config.toml is owned by uid {OTHER_UID}, not by you (uid 0); chown 0 {config}"
    )


@pytest.mark.parametrize(
    ("mode", "who", "fix"),
    [
        (0o770, "its group", "g-w"),
        (0o707, "others", "o-w"),
        (0o777, "its group and others", "go-w"),
    ],
)
def test_a_directory_others_can_write_to_is_refused(
    private_dir: Path, mode: int, who: str, fix: str
) -> None:
    # They could rename the config away and put their own in its place.
    config = _config(private_dir)
    private_dir.chmod(mode)
    assert _refusal(config) == (
        f"config.toml is in {private_dir}, which is writable by {who}; chmod {fix} {private_dir}"
    )


def test_a_directory_further_up_is_checked_too(private_dir: Path) -> None:
    deeper = private_dir / "a" / "b"
    deeper.mkdir(parents=True, mode=0o700)
    config = _config(deeper)
    private_dir.chmod(0o775)
    assert _refusal(config) == (
        f"config.toml is in {private_dir}, which is writable by its group; chmod g-w {private_dir}"
    )


def test_a_sticky_directory_like_tmp_is_accepted(private_dir: Path) -> None:
    # Others may add files, but not rename or delete yours.
    config = _config(private_dir)
    private_dir.chmod(0o1777)
    assert load_settings(config).accounts


@as_root
def test_a_directory_of_another_user_is_refused(private_dir: Path) -> None:
    config = _config(private_dir)
    os.chown(private_dir, OTHER_UID, -1)
    assert _refusal(config) == (
        f"config.toml is in {private_dir}, which is owned by uid {OTHER_UID}, not by you "
        f"(uid 0); chown 0 {private_dir}"
    )


def test_a_link_into_an_unsafe_directory_is_refused(private_dir: Path) -> None:
    shared = private_dir / "shared"
    shared.mkdir(mode=0o700)
    target = _config(shared)
    shared.chmod(0o770)
    link = private_dir / "config.toml"
    link.symlink_to(target)
    assert _refusal(link) == (
        f"config.toml is in {shared}, which is writable by its group; chmod g-w {shared}"
    )


def test_a_link_in_an_unsafe_directory_is_refused(private_dir: Path) -> None:
    # Whoever can write there can point the link elsewhere.
    safe = private_dir / "safe"
    shared = private_dir / "shared"
    safe.mkdir(mode=0o700)
    shared.mkdir(mode=0o700)
    target = _config(safe)
    (shared / "config.toml").symlink_to(target)
    shared.chmod(0o777)
    assert _refusal(shared / "config.toml") == (
        f"config.toml is in {shared}, which is writable by its group and others; "
        f"chmod go-w {shared}"
    )


def test_a_path_with_spaces_gets_a_fix_that_can_be_pasted(private_dir: Path) -> None:
    directory = private_dir / "my configs"
    directory.mkdir(mode=0o700)
    config = _config(directory, mode=0o660)
    assert _refusal(config) == f"config.toml is writable by its group; chmod g-w '{config}'"


def test_the_command_line_says_it_in_one_line(private_dir: Path) -> None:
    config = _config(private_dir, mode=0o664)
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "sync"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: config.toml is writable by its group; chmod g-w {config}\n"


# -- files the config names -----------------------------------------------------------------


def _with_ca_file(directory: Path, ca_file: Path, smtp: bool = False) -> Path:
    if smtp:
        text = CONFIG + f'[digest.smtp]\nhost = "smtp.example.com"\nca_file = "{ca_file}"\n'
    else:
        text = CONFIG + f'ca_file = "{ca_file}"\n'
    return _config(directory, text)


@pytest.mark.parametrize("smtp", [False, True])
def test_a_ca_file_others_can_write_is_refused(private_dir: Path, smtp: bool) -> None:
    # Whoever replaces it can pose as the server and read the password.
    ca_file = private_dir / "ca.pem"
    ca_file.write_text("not read here\n", encoding="utf-8")
    ca_file.chmod(0o664)
    config = _with_ca_file(private_dir, ca_file, smtp)
    key, line = ("digest.smtp.ca_file", 8) if smtp else ("accounts[1].ca_file", 6)
    assert _refusal(config) == (
        f"config.toml line {line}: {key} is writable by its group; chmod g-w {ca_file}"
    )
    ca_file.chmod(0o644)
    assert load_settings(config).accounts


@as_root
def test_a_ca_file_of_another_user_is_refused(private_dir: Path) -> None:
    ca_file = private_dir / "ca.pem"
    ca_file.write_text("not read here\n", encoding="utf-8")
    os.chown(ca_file, OTHER_UID, -1)
    config = _with_ca_file(private_dir, ca_file)
    assert _refusal(config) == (
        f"config.toml line 6: accounts[1].ca_file is owned by uid {OTHER_UID}, not by you "
        f"(uid 0); chown 0 {ca_file}"
    )


def test_a_smtp_ca_file_that_is_missing_is_named_at_load(private_dir: Path) -> None:
    config = _with_ca_file(private_dir, private_dir / "missing.pem", smtp=True)
    assert _refusal(config) == (
        f"config.toml line 8: digest.smtp.ca_file names '{private_dir / 'missing.pem'}', "
        "which is not a readable file"
    )
