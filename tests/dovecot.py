"""A private, throwaway Dovecot IMAP server for tests and benchmarks.

The server runs from a config file written into a fresh temporary directory, listens on
127.0.0.1 only, on two free ports picked at start (plain IMAP with STARTTLS, and implicit
TLS), with a throwaway self-signed certificate. Nothing under /etc/dovecot is read, so
several instances (test runs, a benchmark) can run side by side with a system Dovecot.

Usable outside pytest (``bench/sync.py`` imports it as a plain module)::

    with DovecotServer.start() as server:
        user = server.add_user()
        server.append_many(user, "INBOX", messages)
        ...

``DovecotServer.start`` raises ``DovecotUnavailable`` (with the reason and the tail of the
Dovecot log) when Dovecot is not installed or does not come up. The binaries are looked up
on PATH and in the sbin directories (Debian's PATH for non-root users lacks /usr/sbin);
``WATCHER_TEST_DOVECOT=/path/to/dovecot`` overrides (a wrong path simulates a missing one).

Started as root, the mail processes run as uid/gid 4242 (Dovecot refuses uid 0 for mail
processes; the uid need not exist in /etc/passwd). Started as another user, everything
runs as that user (``default_internal_user`` etc. and no chroot).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

__all__ = [
    "SPECIAL_USE_FOLDERS",
    "DovecotServer",
    "DovecotUnavailable",
    "FolderState",
    "MailUser",
    "find_binary",
]

HOST = "127.0.0.1"
MAIL_UID = 4242
MAIL_GID = 4242
DOMAIN = "example.test"
START_TIMEOUT = 10.0
# SIGTERM usually ends the master in ~1 s, but takes 6 s when an imap-login process is
# still starting; the data is thrown away, so past this grace the group is SIGKILLed.
STOP_TIMEOUT = 2.0
FETCH_CHUNK = 2000

#: Folders every user gets at first login, with their RFC 6154 SPECIAL-USE flag.
SPECIAL_USE_FOLDERS: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}

# Debian's PATH for non-root users lacks /usr/sbin, where `dovecot` lives.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([0-9:,]+)\]")
_NAME_OK = re.compile(r"[A-Za-z0-9._+-]+")
T = TypeVar("T")


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or the private instance failed to start."""

    def __init__(self, reason: str, log_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail

    def __str__(self) -> str:
        if not self.log_tail:
            return self.reason
        return f"{self.reason}\n--- dovecot log (tail) ---\n{self.log_tail}"


class FolderState(TypedDict):
    """What a read-only EXAMINE shows of a folder (see `DovecotServer.folder_state`)."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int
    exists: int
    #: uid -> sorted flags, without the session-only ``\\Recent``.
    flags: dict[int, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class MailUser:
    name: str
    password: str
    domain: str = DOMAIN

    @property
    def address(self) -> str:
        return f"{self.name}@{self.domain}"


def find_binary(name: str) -> str | None:
    """`shutil.which`, also looking in the sbin directories a non-root PATH may lack."""
    found = shutil.which(name)
    if found:
        return found
    for directory in _EXTRA_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for port 0 (all held at once, so they differ)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _expand_uid_set(text: bytes) -> list[int]:
    uids: list[int] = []
    for part in text.decode().split(","):
        first, _, last = part.partition(":")
        low, high = sorted((int(first), int(last or first)))
        uids.extend(range(low, high + 1))
    return uids


def _appended_uids(response: Any) -> list[int]:
    raw = response if isinstance(response, bytes) else str(response).encode()
    match = _APPENDUID.search(raw)
    if match is None:
        raise IMAPClientError(f"APPEND response without APPENDUID: {raw!r}")
    return _expand_uid_set(match.group(2))


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _flag_text(flags: Iterable[bytes | str]) -> tuple[str, ...]:
    texts = (flag.decode() if isinstance(flag, bytes) else flag for flag in flags)
    return tuple(sorted(flag for flag in texts if flag.lower() != "\\recent"))


def _config(directory: Path, port: int, ssl_port: int, extra: str = "") -> str:
    """The dovecot.conf text, following shared/TEST-SERVERS.md."""
    d = directory
    folders = "".join(
        f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}\n"
        for name, flag in SPECIAL_USE_FOLDERS.items()
    )
    if os.geteuid() == 0:
        identity = f"mail_uid = {MAIL_UID}\nmail_gid = {MAIL_GID}\nfirst_valid_uid = 1\n"
        login_chroot = anvil_chroot = ""
    else:
        try:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        except KeyError as exc:
            raise DovecotUnavailable(f"uid/gid without a name, Dovecot needs one: {exc}") from None
        identity = (
            f"default_internal_user = {user}\n"
            f"default_login_user = {user}\n"
            f"default_internal_group = {group}\n"
            "first_valid_uid = 1\n"
        )
        login_chroot = anvil_chroot = "  chroot =\n"
    return f"""\
# Private test instance written by tests/dovecot.py; /etc/dovecot is not read.
protocols = imap
listen = {HOST}
base_dir = {d}/run
state_dir = {d}/state
instance_name = watcher-test
log_path = {d}/dovecot.log
{identity}\
mail_location = maildir:{d}/mail/%u:LAYOUT=fs
mail_home = {d}/home/%u
mail_fsync = never
auth_mechanisms = plain login
disable_plaintext_auth = no
# Tests of wrong passwords should not wait the default 2 s.
auth_failure_delay = 0
# One passwd-file per user: Dovecot stats a passwd-file at most once a second, so a user
# appended to a shared file could be missed for up to 1 s; a new file is read at once.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users/%u
}}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
service imap-login {{
{login_chroot}\
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
{anvil_chroot}\
  # No auth penalty: after a failed login Dovecot would delay the next logins from
  # 127.0.0.1 by 2-15 s (tests of wrong passwords would slow every later test).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  # The default (10) is easily reached by a watcher plus a test's own connections.
  mail_max_userip_connections = 200
}}
namespace inbox {{
  inbox = yes
  separator = /
{folders}\
}}
{extra}"""


class DovecotServer:
    """A running private Dovecot. Create with `DovecotServer.start`; stop with `stop`."""

    host: str
    port: int
    ssl_port: int
    directory: Path
    config_path: Path
    users_dir: Path
    ca_file: Path
    key_file: Path
    log_path: Path

    def __init__(self, directory: Path, port: int, ssl_port: int, extra_config: str = "") -> None:
        self.host = HOST
        self.port = port
        self.ssl_port = ssl_port
        self.directory = directory
        self.config_path = directory / "dovecot.conf"
        self.users_dir = directory / "users"
        self.ca_file = directory / "cert.pem"
        self.key_file = directory / "key.pem"
        self.log_path = directory / "dovecot.log"
        self._extra_config = extra_config
        self._proc: subprocess.Popen[bytes] | None = None
        self._users_lock = threading.Lock()
        self._counter = itertools.count(1)
        self._probe: MailUser | None = None
        self.started_in: float = 0.0
        self.stopped_in: float = 0.0

    # ----------------------------------------------------------------- life cycle

    @classmethod
    def start(
        cls,
        parent: str | os.PathLike[str] | None = None,
        *,
        timeout: float = START_TIMEOUT,
        extra_config: str = "",
    ) -> Self:
        """Start a fresh instance in a new directory under *parent* (default: the temp dir).

        *extra_config* is appended to the generated dovecot.conf. Raises
        `DovecotUnavailable` when dovecot/openssl are missing or it does not come up (a lost
        race for a port is retried with new ports).
        """
        dovecot = os.environ.get("WATCHER_TEST_DOVECOT") or find_binary("dovecot")
        if dovecot is None or not os.access(dovecot, os.X_OK):
            raise DovecotUnavailable(
                f"{dovecot or 'dovecot'} not found (Debian package dovecot-imapd)"
            )
        openssl = find_binary("openssl")
        if openssl is None:
            raise DovecotUnavailable("openssl not found")
        error: DovecotUnavailable | None = None
        if parent is None and len(tempfile.gettempdir()) > 40 and Path("/tmp").is_dir():
            parent = "/tmp"  # unix socket paths are limited to 107 bytes
        for _attempt in range(3):
            directory = Path(tempfile.mkdtemp(prefix="dovecot-", dir=parent))
            port, ssl_port = _free_ports(2)
            server = cls(directory, port, ssl_port, extra_config)
            try:
                server._launch(dovecot, openssl, timeout)
            except DovecotUnavailable as exc:
                server.stop()
                error = exc
                if "Address already in use" not in exc.log_tail:
                    raise
            except BaseException:
                server.stop()
                raise
            else:
                return server
        assert error is not None
        raise error

    def _launch(self, dovecot: str, openssl: str, timeout: float) -> None:
        began = time.monotonic()
        d = self.directory
        if len(str(d / "run" / "login" / "imap-login")) > 100:
            raise DovecotUnavailable(f"temp dir path too long for unix sockets: {d}")
        self._make_certificate(openssl)
        for sub in ("run", "state", "mail", "home"):
            (d / sub).mkdir()
        if os.geteuid() == 0:
            # Mail processes run as 4242; the auth process as the `dovecot` user.
            d.chmod(0o755)
            for sub in ("mail", "home"):
                os.chown(d / sub, MAIL_UID, MAIL_GID)
        self.users_dir.mkdir()
        self.users_dir.chmod(0o755)
        self.config_path.write_text(_config(d, self.port, self.ssl_port, self._extra_config))
        self._probe = self.add_user(name=f"probe-{secrets.token_hex(4)}")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # keep Ctrl-C away; lets stop() kill the group
            )
        self._wait_ready(began + timeout)
        self.started_in = time.monotonic() - began

    def _make_certificate(self, openssl: str) -> None:
        command = [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(self.key_file), "-out", str(self.ca_file), "-days", "3650",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, timeout=60, check=False)
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip().splitlines()
            raise DovecotUnavailable(f"openssl req failed: {reason[-1:] or result.returncode}")
        self.ca_file.chmod(0o644)

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        assert self._probe is not None
        last_error = "no attempt"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise DovecotUnavailable(
                    f"dovecot exited with status {code} at start", self._log_tail()
                )
            try:
                with self.connect(self._probe, timeout=2.0):
                    pass
                with socket.create_connection((self.host, self.ssl_port), timeout=2.0):
                    pass
            except (OSError, IMAPClientError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                return
            if time.monotonic() > deadline:
                raise DovecotUnavailable(
                    f"dovecot did not accept a LOGIN in time ({last_error})", self._log_tail()
                )
            time.sleep(0.02)

    def _log_tail(self) -> str:
        return _tail(self.log_path)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, *, remove: bool = True) -> None:
        """SIGTERM the master (SIGKILL its process group if it lingers), remove the dir."""
        began = time.monotonic()
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            # Children left in the group (only ours: the group is the master's session).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.stopped_in = time.monotonic() - began

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"DovecotServer(port={self.port}, ssl_port={self.ssl_port}, "
            f"directory={str(self.directory)!r}, running={self.running})"
        )

    # ---------------------------------------------------------------------- users

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """Add a user (its own passwd-file ``DIR/users/NAME``); usable at once, no restart.

        Without *name*, a unique ``u<counter>-<random>`` so each test has its own mailbox.
        """
        if name is None:
            name = f"u{next(self._counter)}-{secrets.token_hex(3)}"
        if password is None:
            password = secrets.token_urlsafe(12)
        if not _NAME_OK.fullmatch(name):
            raise ValueError(f"unsupported user name: {name!r}")
        if any(c in password for c in ":\r\n"):
            raise ValueError("password must not contain ':' or line breaks")
        user = MailUser(name, password)
        path = self.users_dir / name
        with self._users_lock:
            if path.exists():
                raise ValueError(f"user {name!r} already exists")
            # Write-and-rename: Dovecot never reads a half-written file.
            tmp = self.users_dir / f".{name}.tmp"
            tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
            tmp.chmod(0o644)
            tmp.replace(path)
        return user

    # ------------------------------------------------------------- IMAP helpers

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this server's certificate (names 127.0.0.1, localhost)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def connect(self, user: MailUser, *, timeout: float = 30.0) -> IMAPClient:
        """A logged-in client over the plain port (no TLS), for test set-up only.

        Use it as a context manager (``with server.connect(user) as client:``) so it logs
        out and closes its socket.
        """
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            client.login(user.name, user.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    @staticmethod
    def _ensure_folder(client: IMAPClient, folder: str) -> None:
        if folder.upper() != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)

    def append(
        self,
        user: MailUser,
        folder: str,
        message: bytes,
        *,
        flags: Sequence[str | bytes] = (),
        internal_date: dt.datetime | None = None,
    ) -> int:
        """APPEND one message (creating *folder* if needed); return its UID.

        Pass a timezone-aware *internal_date*: imapclient reads a naive one as local time.
        """
        with self.connect(user) as client:
            self._ensure_folder(client, folder)
            response = client.append(folder, message, flags=flags, msg_time=internal_date)
        return _appended_uids(response)[0]

    def append_many(
        self,
        user: MailUser,
        folder: str,
        messages: Iterable[bytes | tuple[bytes, dt.datetime]],
        *,
        flags: Sequence[str | bytes] = (),
        batch: int = 500,
    ) -> list[int]:
        """MULTIAPPEND *messages* (optionally with their INTERNALDATE) in batches.

        *flags* are set on every message. Returns the new UIDs in order.
        """
        uids: list[int] = []
        with self.connect(user, timeout=300.0) as client:
            self._ensure_folder(client, folder)
            for chunk in _chunks(messages, batch):
                items: list[dict[str, Any]] = []
                for item in chunk:
                    entry: dict[str, Any]
                    if isinstance(item, tuple):
                        entry = {"msg": item[0], "date": item[1]}
                    else:
                        entry = {"msg": item}
                    if flags:
                        entry["flags"] = flags
                    items.append(entry)
                uids.extend(_appended_uids(client.multiappend(folder, items)))
        return uids

    @staticmethod
    def _examine(client: IMAPClient, folder: str) -> FolderState:
        info = client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        flags: dict[int, tuple[str, ...]] = {}
        for chunk in _chunks(uids, FETCH_CHUNK):
            for uid, data in client.fetch(chunk, ["FLAGS"]).items():
                flags[uid] = _flag_text(data[b"FLAGS"])
        state = FolderState(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info[b"UIDNEXT"]),
            highestmodseq=int(info[b"HIGHESTMODSEQ"]),
            exists=int(info[b"EXISTS"]),
            flags=flags,
        )
        client.unselect_folder()
        return state

    def folder_state(self, user: MailUser, folder: str = "INBOX") -> FolderState:
        """UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, EXISTS and uid -> flags, via a fresh
        connection and EXAMINE (read-only): compare before/after to prove nothing changed.
        """
        with self.connect(user) as client:
            client.enable("CONDSTORE")
            return self._examine(client, folder)

    def all_folder_states(self, user: MailUser) -> dict[str, FolderState]:
        """`folder_state` of every selectable folder of *user*, by name."""
        with self.connect(user) as client:
            client.enable("CONDSTORE")
            names = [
                name
                for flags, _sep, name in client.list_folders()
                if b"\\Noselect" not in flags and b"\\NonExistent" not in flags
            ]
            return {name: self._examine(client, name) for name in sorted(names)}

    def change_uidvalidity(self, user: MailUser, folder: str, *, renumber: bool = False) -> int:
        """Give *folder* a new UIDVALIDITY, keeping its messages; return the new value.

        Default: ``doveadm mailbox update --uid-validity`` (same files, same UIDs, same
        flags; works for INBOX). A session that has the folder selected at that moment is
        disconnected by Dovecot.

        ``renumber=True`` (not INBOX): DELETE and re-CREATE the folder and re-append the
        messages with their flags and INTERNALDATEs, so they also get new UIDs, as after a
        server-side rebuild.
        """
        if renumber:
            return self._recreate_folder(user, folder)
        with self.connect(user) as client:
            old = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
        new = max(old + 1, int(time.time()))
        if new >= 2**32:
            new = 1 if old != 1 else 2
        self.doveadm("mailbox", "update", "-u", user.name, "--uid-validity", str(new), folder)
        with self.connect(user) as client:
            now = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
        if now == old:
            raise RuntimeError(f"UIDVALIDITY of {folder!r} did not change (still {old})")
        return now

    def _recreate_folder(self, user: MailUser, folder: str) -> int:
        if folder.upper() == "INBOX":
            raise ValueError("INBOX cannot be deleted: use renumber=False for INBOX")
        with self.connect(user, timeout=300.0) as client:
            client.normalise_times = False
            old = int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])
            saved: list[dict[str, Any]] = []
            for chunk in _chunks(client.search("ALL"), FETCH_CHUNK):
                fetched = client.fetch(chunk, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
                for uid in sorted(fetched):
                    data = fetched[uid]
                    saved.append(
                        {
                            "msg": data[b"BODY[]"],
                            "flags": _flag_text(data[b"FLAGS"]),
                            "date": data[b"INTERNALDATE"],
                        }
                    )
            client.unselect_folder()
            client.delete_folder(folder)
            client.create_folder(folder)
            for chunk in _chunks(saved, 500):
                client.multiappend(folder, chunk)
            new = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {folder!r} did not change (still {old})")
        return new

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c <this config> ARGS`` against this instance; return stdout."""
        doveadm = find_binary("doveadm")
        if doveadm is None:
            raise RuntimeError("doveadm not found")
        result = subprocess.run(
            [doveadm, "-c", str(self.config_path), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace').strip()}"
            )
        return result.stdout.decode(errors="replace")
