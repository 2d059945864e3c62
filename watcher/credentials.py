"""Find a login's password without it ever touching the config, the store or the logs.

Sources, tried in this order:
1. `password_command` (like mbsync's PassCmd): its first output line is the password;
2. `password_file`: its first line, from a file only you can read (refused otherwise);
3. a systemd credential, `$CREDENTIALS_DIRECTORY/<credential or account name>`;
4. the OS keyring, service "followup-watcher", user = the account's username;
5. an environment variable: `password_env`, else `WATCHER_PASSWORD_<ACCOUNT>`.
keyring's exceptions are translated here; nothing here logs the secret.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watcher.config.checks import one_line, unsafe_path_problem
from watcher.errors import CredentialError
from watcher.logsetup import register_secret

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "followup-watcher"
PASSWORD_COMMAND_TIMEOUT = 60


class Login(Protocol):
    """Whose secret to find: an IMAP `Account`, or the digest's `SmtpServer`."""

    @property
    def name(self) -> str: ...  # in messages; the default credential and variable names
    @property
    def username(self) -> str: ...
    @property
    def password_command(self) -> str: ...
    @property
    def oauth2_token_command(self) -> str: ...
    @property
    def password_env(self) -> str: ...
    @property
    def credential(self) -> str: ...
    @property
    def password_file(self) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class Secret:
    """A password and where it came from. Its repr never shows the value."""

    value: str
    source: str

    def __repr__(self) -> str:
        return f"Secret(source={self.source!r}, value=<redacted>)"

    __str__ = __repr__


def default_env_name(account: Login) -> str:
    return "WATCHER_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", account.name.upper())


def find_password(account: Login) -> Secret:
    """The account's password from the first source that has one, else `CredentialError`.

    Whatever is found is registered with the log filter, so it can never be logged.
    """
    secret = _find_password(account)
    register_secret(secret.value)
    return secret


def secret_of(account: Login) -> Secret:
    """What the account logs in with: a fresh OAuth2 token if configured, else its password."""
    return find_token(account) if account.oauth2_token_command else find_password(account)


def find_token(account: Login) -> Secret:
    """A fresh OAuth2 access token from `oauth2_token_command`, run anew on each connection
    (tokens expire within the hour; the helper refreshes them)."""
    value = _run_command(account, account.oauth2_token_command, "oauth2_token_command")
    register_secret(value)
    return Secret(value, "oauth2_token_command")


def _find_password(account: Login) -> Secret:
    if account.password_command:
        return Secret(
            _run_command(account, account.password_command, "password_command"), "password_command"
        )
    if account.password_file is not None:
        return Secret(_read_password_file(account, account.password_file), "password_file")
    credential = _systemd_credential(account)
    if credential is not None:
        return credential
    stored = _from_keyring(account)
    if stored is not None:
        return stored
    env_name = account.password_env or default_env_name(account)
    value = os.environ.get(env_name)
    if value:
        return Secret(value, f"environment variable {env_name}")
    raise CredentialError(
        account.name,
        "no password found; set password_command "
        f'(e.g. password_command = "pass show mail/{account.name}"), password_file (a file '
        "only you can read), credential (a systemd credential), or the environment variable "
        f"{env_name}; `watcher init` sets one up",
    )


def _run_command(account: Login, command: str, key: str) -> str:
    # Its own session, so that on timeout the whole process group goes, not only the shell:
    # a child left behind (`gpg` waiting on a pinentry, a `sleep`) would live on unnoticed.
    with subprocess.Popen(  # noqa: S602 - a command the user wrote in their own config
        command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=PASSWORD_COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise CredentialError(
                account.name,
                f"{key} did not finish within {PASSWORD_COMMAND_TIMEOUT} s: {command}",
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM: leave nothing running either
            _kill_group(process)
            raise
    if process.returncode != 0:
        # Its stderr is the user's own tool talking (e.g. "gpg: decryption failed"); the first
        # line helps and carries no secret, stdout might, so it is never shown.
        reason = stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {reason[0][:200]}" if reason else ""
        raise CredentialError(
            account.name,
            f"{key} failed with exit code {process.returncode}{detail} "
            f"(command: {shlex.split(command)[0] if command.strip() else command})",
        )
    lines = stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0]:
        raise CredentialError(account.name, f"{key} printed nothing")
    return lines[0]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the command's whole process group (its shell's pid is the group's id), then reap
    the shell; the rest, orphaned, are reaped by init."""
    with contextlib.suppress(ProcessLookupError):  # all gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def password_file_problem(path: Path) -> str | None:
    """Why `path` may not hold a password, as "<what>; <fix>", or None.

    The config file's checks (owned by you or root, nobody else can change it or a directory
    on the way), and one more: nobody else can read it either.
    """
    problem = unsafe_path_problem(path)
    if problem:
        return problem
    try:
        mode = path.stat().st_mode
    except OSError as exc:  # pragma: no cover - unsafe_path_problem stat()ed it just now
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        return "is not a regular file; point password_file at a file"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"can be read by others than you; chmod 600 {shlex.quote(str(path))}"
    return None


def _read_password_file(account: Login, path: Path) -> str:
    problem = password_file_problem(path)
    if problem:
        raise CredentialError(account.name, one_line(f"password_file {path} {problem}"))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CredentialError(account.name, f"cannot read password_file {path}: {reason}") from None
    if not lines or not lines[0]:
        raise CredentialError(account.name, f"password_file {path} is empty")
    return lines[0]


def _systemd_credential(account: Login) -> Secret | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    name = account.credential or account.name
    path = Path(directory) / name
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        if account.credential:
            raise CredentialError(
                account.name,
                f"systemd credential {name!r} is not in $CREDENTIALS_DIRECTORY; "
                "check LoadCredential= in the unit",
            ) from None
        return None
    except OSError as exc:
        raise CredentialError(
            account.name, f"cannot read systemd credential {name!r}: {exc.strerror}"
        ) from None
    return Secret(value, f"systemd credential {name}")


def _from_keyring(account: Login) -> Secret | None:
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, account.username)
    except NoKeyringError:
        logger.debug("no OS keyring available (headless?); trying the environment")
        return None
    except KeyringError as exc:
        logger.warning("account %r: the OS keyring failed: %s", account.name, type(exc).__name__)
        return None
    except Exception as exc:
        logger.warning("account %r: the OS keyring failed: %s", account.name, type(exc).__name__)
        return None
    return Secret(value, "OS keyring") if value else None


def store_in_keyring(username: str, password: str) -> str:
    """Put the password in the OS keyring; "" when stored, else why not, in one line."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, username, password)
    except NoKeyringError:
        return "no OS keyring on this machine (headless, or no D-Bus session)"
    except (KeyringError, RuntimeError) as exc:  # a locked keyring, a dismissed unlock prompt
        return f"the OS keyring did not take it ({type(exc).__name__})"
    return ""
