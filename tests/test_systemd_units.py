"""The systemd units in systemd/: they parse, carry the keys the daemon relies on, pass
`systemd-analyze verify` where systemd is installed, and match the paths the watcher uses.

Units cannot be started here (PID 1 is not systemd in the test machine); what systemd itself
can check offline is checked: `verify` (unknown keys, bad values, a missing ExecStart binary)
and `security --offline` (the exposure score). systemd 252 (Debian 12) was used to write them.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config.settings import Account, default_config_path, default_state_dir
from watcher.credentials import find_password

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
USER_UNIT = SYSTEMD / "watcher.service"
SYSTEM_UNIT = SYSTEMD / "watcher@.service"
Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value in order (systemd allows a key more than once)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        assert section is not None and equals, f"{path.name}:{number}: not a key=value line"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, found {values}"
    return values[0]


def seconds(span: str) -> float:
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    match = re.fullmatch(r"(\d+)\s*([a-z]*)", span)
    assert match and match.group(2) in units, f"unexpected time span {span!r}"
    return int(match.group(1)) * units[match.group(2)]


@pytest.mark.parametrize("path", [USER_UNIT, SYSTEM_UNIT], ids=lambda p: p.name)
def test_unit_parses_as_ini_with_the_required_keys(path: Path) -> None:
    ini = configparser.ConfigParser(strict=False, interpolation=None)
    ini.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    ini.read_string(path.read_text(encoding="utf-8"))
    assert {"Unit", "Service", "Install"} <= set(ini.sections())
    unit = parse_unit(path)
    service = unit["Service"]
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert 60 <= seconds(one(unit, "Service", "WatchdogSec")) <= 3600
    assert one(unit, "Service", "RestartPreventExitStatus") == "2"  # unusable config
    assert one(unit, "Service", "ExecStart").endswith("/watcher run")
    assert one(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"  # config reload
    for key in (
        "NoNewPrivileges",
        "PrivateTmp",
        "PrivateDevices",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectClock",
    ):
        assert one(unit, "Service", key) == "yes", key
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert one(unit, "Service", "RestrictAddressFamilies").split() == [
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
    ]
    assert "@system-service" in service["SystemCallFilter"]
    assert one(unit, "Service", "SystemCallArchitectures") == "native"
    assert one(unit, "Install", "WantedBy")


def test_user_unit_uses_the_paths_of_a_hand_run_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    unit = parse_unit(USER_UNIT)
    assert "User" not in unit["Service"]
    # Not StateDirectory=: systemd < 254 puts a user unit's state under ~/.config, where a
    # `watcher status` run by hand would not look for the store.
    assert "StateDirectory" not in unit["Service"]
    assert one(unit, "Service", "ProtectHome") == "read-only"
    assert one(unit, "Service", "ExecStart") == "%h/.local/bin/watcher run"
    monkeypatch.setenv("HOME", "/home/maya")
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "STATE_DIRECTORY", "WATCHER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    writable = one(unit, "Service", "ReadWritePaths").replace("%h", "/home/maya")
    assert Path(writable) == default_state_dir()
    assert default_config_path() == Path("/home/maya/.config/followup-watcher/config.toml")
    assert one(unit, "Install", "WantedBy") == "default.target"


def test_system_unit_runs_one_instance_per_dedicated_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    unit = parse_unit(SYSTEM_UNIT)
    assert one(unit, "Service", "User") == "%i"
    assert one(unit, "Service", "StateDirectory") == "followup-watcher/%i"
    assert one(unit, "Service", "ConfigurationDirectory") == "followup-watcher/%i"
    assert one(unit, "Service", "ProtectHome") == "yes"
    assert "WATCHER_CONFIG=%E/followup-watcher/%i/config.toml" in unit["Service"]["Environment"]
    assert Path(one(unit, "Service", "ExecStart").split()[0]).is_absolute()
    credential = one(unit, "Service", "LoadCredentialEncrypted")
    name, _, source = credential.partition(":")
    assert name == "mail-password" and source.startswith("%E/followup-watcher/%i/")
    # What systemd hands the service is what credentials.py reads.
    (tmp_path / name).write_text("s3cret-from-systemd\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/followup-watcher/alice")
    account = Account(name="work", addresses=("a@x.example",), host="h", credential=name)
    secret = find_password(account)
    assert (secret.value, secret.source) == ("s3cret-from-systemd", f"systemd credential {name}")
    assert default_state_dir() == Path("/var/lib/followup-watcher/alice")


def test_readme_gives_the_install_commands() -> None:
    readme = (SYSTEMD / "README.md").read_text(encoding="utf-8")
    for command in (
        "systemctl --user enable --now watcher.service",
        "loginctl enable-linger",
        "systemd-creds encrypt --name=mail-password",
        "systemctl enable --now watcher@",
        'credential = "mail-password"',
    ):
        assert command in readme, command


def _runnable_copy(path: Path, directory: Path) -> Path:
    """The unit with ExecStart= on an existing program: verify checks that it exists."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={sys.executable} -m watcher", text)
    copy = directory / path.name
    copy.write_text(text, encoding="utf-8")
    return copy


def _analyze(unit: Path, *args: str, user: bool) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    env = dict(os.environ)
    runtime = unit.parent / "runtime"  # a user manager wants $XDG_RUNTIME_DIR, even offline
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    command = [analyze, *(["--user"] if user else []), *args, str(unit)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.mark.parametrize(("path", "user"), [(USER_UNIT, True), (SYSTEM_UNIT, False)])
def test_systemd_analyze_verify_finds_nothing(path: Path, user: bool, tmp_path: Path) -> None:
    result = _analyze(_runnable_copy(path, tmp_path), "verify", user=user)
    ours = [line for line in result.stderr.splitlines() if "watcher" in line]
    assert result.returncode == 0 and not ours, result.stderr


@pytest.mark.parametrize(
    ("path", "user", "most"), [(USER_UNIT, True, 4.5), (SYSTEM_UNIT, False, 2.0)]
)
def test_hardening_keeps_the_exposure_low(
    path: Path, user: bool, most: float, tmp_path: Path
) -> None:
    result = _analyze(_runnable_copy(path, tmp_path), "security", "--offline=yes", user=user)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    if found is None:
        pytest.skip(f"systemd-analyze security --offline not supported here: {result.stderr}")
    assert float(found.group(1)) <= most, result.stdout


def test_user_unit_starts_after_the_gpg_agent_socket() -> None:
    """`pass` under ProtectHome=read-only works only when gpg's agent socket already listens
    (the test below): Debian's gpg-agent.socket gives that, so the unit waits for it."""
    unit = parse_unit(USER_UNIT)
    assert "gpg-agent.socket" in one(unit, "Unit", "Wants").split()
    assert "gpg-agent.socket" in one(unit, "Unit", "After").split()
    readme = (SYSTEMD / "README.md").read_text(encoding="utf-8")
    assert "gpg-agent.socket" in readme and "Which password source works where" in readme


def _gpg(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gpg", "--batch", "--quiet", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GNUPGHOME": str(home)},
        check=False,
    )


PASSWORD_IN_SANDBOX = """
import sys
from watcher.config.settings import Account
from watcher.credentials import find_password
from watcher.errors import WatcherError
account = Account(name="work", addresses=("a@x.example",), host="h", password_command=sys.argv[1])
try:
    print(find_password(account).value)
except WatcherError as exc:
    print("error:", exc)
"""


def test_a_gpg_password_command_under_a_read_only_home_needs_a_listening_agent(
    tmp_path: Path,
) -> None:
    """What the hardened user unit does to `pass` (gpg), in a mount namespace with the gpg
    home and the agent's socket directory read-only (ProtectHome=read-only covers both
    ~/.gnupg and /run/user): with the agent's socket listening, the password command works;
    on a cold start, gpg cannot start an agent there and the command fails."""
    tools = [shutil.which(name) for name in ("gpg", "gpgconf", "gpg-connect-agent", "unshare")]
    if None in tools or os.geteuid() != 0:
        pytest.skip("needs gpg, gpgconf, unshare and root (for the mount namespace)")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    made = _gpg(home, "--passphrase", "", "--quick-gen-key", "me@x.example", "future-default")
    assert made.returncode == 0, made.stderr
    secret = tmp_path / "work.gpg"
    encrypted = _gpg(home, "-e", "-r", "me@x.example", "-o", str(secret), stdin="s3cret-in-pass\n")
    assert encrypted.returncode == 0, encrypted.stderr
    # /run/user/UID/gnupg where /run/user exists (a systemd machine), else the gpg home
    subprocess.run(["gpgconf", "--create-socketdir"], env=env, capture_output=True, check=False)
    socket_dir = subprocess.run(
        ["gpgconf", "--list-dirs", "socketdir"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    command = f"gpg --batch --quiet -d {secret}"
    sandbox = (
        f'mount --bind -o ro "{home}" "{home}" && mount --bind -o ro "{socket_dir}" "{socket_dir}"'
        f' && exec {sys.executable} -c "$0" "$1"'
    )

    def password_in_sandbox() -> str:
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", sandbox, PASSWORD_IN_SANDBOX, command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    try:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=True)
        assert password_in_sandbox().startswith("error:")  # cold start: no agent can start
        subprocess.run(["gpg-connect-agent", "/bye"], env=env, capture_output=True, check=True)
        assert password_in_sandbox() == "s3cret-in-pass"  # the socket listens: it works
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
        subprocess.run(["gpgconf", "--remove-socketdir"], env=env, check=False)
