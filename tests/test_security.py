"""Security properties: verified TLS, no plain text to other machines, no secret anywhere,
owner-only files, parameterized SQL, and mail never reaching a shell, a template or a path.

- TLS is verified by default, chain and host name, for IMAP (here: a name the certificate does
  not cover; the chain, and both checks for SMTP, are in test_imap_sync.py and test_deliver.py).
  The password never goes to a server that failed the check.
- `security = "none"` is refused for a host that is not this machine, unless the account says
  `allow_insecure = true` (new key, `[[accounts]]` only, default false: "accept that the
  password and the mail cross the network in clear"); loopback hosts (127.0.0.0/8, ::1,
  localhost) need no such key. An allowed insecure connection logs a WARNING every time it
  is made.
- The password (a unique marker) appears in no output of any process (sync, digest, list,
  doctor, status, run --once; with -vv, IMAP traffic logged), no file of the state directory
  (the SQLite file and its -wal and -shm, kept alive by an open connection), no digest or
  draft, also when things fail (SMTP refused, a wrong IMAP password: then the wrong password
  is the marker, a password_command failing after printing it).
- The state directory is created 0700 and the store, -wal and -shm 0600 even under umask 000;
  a config file writable by its group or others is refused (anyone could point
  password_command at their own program).
- SQL: every statement is a constant or interpolates only whitelisted constant names.
- Only `password_command` / `oauth2_token_command` from the config reach a shell; Jinja2 loads
  only the package's templates and autoescapes HTML; under an audit hook, hostile mail going
  through sync, analysis and rendering opens no file, starts no process and compiles no code
  named after anything in it.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import json
import logging
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
import pytest
from demomailbox import seed_demo
from dovecot import DovecotServer, MailUser
from hostilemail import NASTY
from imapaccount import account_for, run_sync
from imaprecorder import RecordingProxy, collecting_smtp
from mailpipeline import through_everything

from watcher.config.settings import is_loopback, load_settings, parse_settings
from watcher.credentials import Secret
from watcher.digest import render
from watcher.digest.suggest import suggest_follow_up
from watcher.errors import ConfigError, ImapError
from watcher.mail import connection
from watcher.mail.connection import probe_tls
from watcher.store.store import Store

WATCHER = Path(__file__).resolve().parent.parent / "watcher"
NOW = "2026-11-23T08:00"

# -- TLS ------------------------------------------------------------------------------------


@contextmanager
def behind(address: str, port: int) -> Iterator[RecordingProxy]:
    """The server also reachable at `address` (another loopback address), recorded."""
    try:
        proxy = RecordingProxy(("127.0.0.1", port), listen_host=address)
    except OSError as exc:
        pytest.skip(f"cannot listen on {address}: {exc.strerror}")
    with proxy:
        yield proxy


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_certificate_for_another_name_is_refused_before_the_password(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path, security: str
) -> None:
    """The certificate is for localhost/127.0.0.1 and trusted (ca_file): only the name fails."""
    port = imap_server.ssl_port if security == "ssl" else imap_server.port
    with behind("127.0.0.2", port) as proxy, Store.open(tmp_path / "s.sqlite3") as store:
        with pytest.raises(ImapError) as caught:
            run_sync(
                imap_server, mail_user, store, host="127.0.0.2", port=proxy.port, security=security
            )
        message = str(caught.value)
        assert "could not be verified" in message and "127.0.0.2" in message
        assert "\n" not in message
        with pytest.raises(ImapError, match="could not be verified"):  # doctor's TLS check
            probe_tls(
                account_for(
                    imap_server, mail_user, host="127.0.0.2", port=proxy.port, security=security
                )
            )
        streams = proxy.streams()
        assert store.count_messages() == 0
    assert streams
    assert all(mail_user.password.encode() not in s for s in streams)
    assert all(b"LOGIN" not in s and b"AUTHENTICATE" not in s for s in streams)


def test_imap_tls_through_the_same_path_works_with_the_right_name(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    """The control: 127.0.0.1 is in the certificate, so the same set-up connects."""
    imap_server.append(mail_user, "INBOX", NASTY["html-subject"])
    with (
        behind("127.0.0.1", imap_server.ssl_port) as proxy,
        Store.open(tmp_path / "s.sqlite3") as store,
    ):
        run_sync(imap_server, mail_user, store, host="127.0.0.1", port=proxy.port, security="ssl")
        assert store.count_messages() == 1


def test_tls_contexts_verify_by_default() -> None:
    """Both connection modules use the default context: CERT_REQUIRED and host name check."""
    for module in ("mail/connection.py", "digest/deliver.py"):
        source = (WATCHER / module).read_text(encoding="utf-8")
        assert "create_default_context" in source
        for weakening in ("CERT_NONE", "check_hostname = False", "_create_unverified_context"):
            assert weakening not in source, (module, weakening)


# -- security = "none" ----------------------------------------------------------------------

INSECURE = """
[[accounts]]
name = "work"
host = "{host}"
security = "none"
addresses = ["me@example.com"]
{extra}
"""


def test_plain_text_to_another_machine_is_refused_with_line_and_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(INSECURE.format(host="imap.example.com", extra=""), Path("config.toml"))
    message = str(caught.value)
    assert message.startswith('config.toml line 5: accounts[1].security is "none" (no TLS)')
    assert "imap.example.com" in message
    assert 'use "ssl" or "starttls", or set allow_insecure = true' in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST.", "x.localhost"]
)
def test_plain_text_to_this_machine_needs_no_key(host: str) -> None:
    assert is_loopback(host)
    (account,) = parse_settings(INSECURE.format(host=host, extra="")).accounts
    assert account.security == "none" and not account.allow_insecure


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.5", "imap.localhost.example", "::2"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="allow_insecure"):
        parse_settings(INSECURE.format(host=host, extra=""))


def test_allow_insecure_is_explicit_boolean_and_imap_only() -> None:
    (account,) = parse_settings(
        INSECURE.format(host="10.0.0.1", extra="allow_insecure = true")
    ).accounts
    assert account.allow_insecure and account.security == "none"
    with pytest.raises(ConfigError, match="allow_insecure must be true or false"):
        parse_settings(INSECURE.format(host="10.0.0.1", extra='allow_insecure = "yes"'))
    with pytest.raises(ConfigError, match="allow_insecure does not apply to a maildir account"):
        parse_settings(
            '[[accounts]]\nname = "m"\nmaildir = "/tmp"\naddresses = ["me@example.com"]\n'
            "allow_insecure = true\n"
        )
    with pytest.raises(ConfigError, match=r"digest\.smtp\.allow_insecure is not a known"):
        parse_settings(
            INSECURE.format(host="127.0.0.1", extra="")
            + '[digest.smtp]\nhost = "smtp.example.com"\nallow_insecure = true\n'
        )


class _Refused:
    """Stands in for IMAPClient: records the connection attempt, then refuses it."""

    attempts: list[str] = []  # noqa: RUF012 - test-only shared record

    def __init__(self, host: str, **_kwargs: object) -> None:
        self.attempts.append(host)
        raise ConnectionRefusedError


def test_allowed_plain_text_connection_warns_every_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(connection, "IMAPClient", _Refused)
    caplog.set_level(logging.WARNING, logger="watcher.mail.connection")
    (remote,) = parse_settings(
        INSECURE.format(host="10.0.0.1", extra="allow_insecure = true")
    ).accounts
    for _ in range(2):
        with pytest.raises(ImapError), connection.connect(remote, Secret("pw-x", "test")):
            pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("10.0.0.1" in w and "without TLS" in w for w in warnings)
    assert all("pw-x" not in w for w in warnings)
    caplog.clear()
    (local,) = parse_settings(INSECURE.format(host="127.0.0.1", extra="")).accounts
    with pytest.raises(ImapError), connection.connect(local, Secret("pw-x", "test")):
        pass
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert _Refused.attempts == ["10.0.0.1", "10.0.0.1", "127.0.0.1"]


# -- no secret anywhere --------------------------------------------------------------------


def _forms(secret: str, username: str) -> list[bytes]:
    """The secret as bytes, and as it would look inside base64 (AUTH PLAIN, any offset)."""
    raw = secret.encode()
    forms = [raw, base64.b64encode(b"\0" + username.encode() + b"\0" + raw)]
    for offset in range(3):  # the characters that only the secret's bits decide
        encoded = base64.b64encode(b"x" * offset + raw)
        forms.append(encoded[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6])
    return forms


def _leaks(data: bytes, forms: list[bytes]) -> list[bytes]:
    return [form for form in forms if form in data]


def _config(
    path: Path, server: DovecotServer, user: MailUser, smtp_port: int, extra: str = ""
) -> Path:
    path.write_text(
        f"""
state_dir = "{path.parent / "state"}"
timezone = "Europe/Stockholm"
lookback_days = 0

[[accounts]]
name = "maya"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["maya@lindqvist-studio.example"]
aliases = ["maya.lindqvist@gmail.example"]
{extra or 'password_env = "TEST_IMAP_PASSWORD"'}

[digest]
to = "maya@lindqvist-studio.example"
delivery = "smtp"
drafts = true

[digest.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
ca_file = "{server.ca_file}"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def _run(config: Path, password: str, *args: str) -> tuple[int, bytes]:
    env = {**os.environ, "TEST_IMAP_PASSWORD": password}
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=120,
        check=False,
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result.returncode, result.stdout + result.stderr


def test_the_password_appears_in_no_output_file_or_message(
    imap_server: DovecotServer, tmp_path: Path
) -> None:
    marker = f"Pw-{secrets.token_hex(10)}-MARKER"
    wrong = f"Wrong-{secrets.token_hex(10)}-MARKER"
    user = imap_server.add_user(password=marker)
    seed_demo(imap_server, user)
    forms = _forms(marker, user.name) + _forms(wrong, user.name)
    outputs: list[tuple[str, bytes]] = []
    with collecting_smtp(imap_server.ca_file, imap_server.key_file, user.name, marker) as smtp:
        config = _config(tmp_path / "c.toml", imap_server, user, smtp.port)
        closed = _config(tmp_path / "closed.toml", imap_server, user, 1)
        store_path = tmp_path / "state" / "watcher.sqlite3"

        code, out = _run(config, marker, "-vv", "sync")
        assert code == 0, out
        outputs.append(("sync -vv", out))
        # Hold the store open so that its -wal and -shm files stay for the grep below.
        holder = sqlite3.connect(store_path)
        holder.execute("SELECT COUNT(*) FROM messages").fetchone()
        runs = [
            (config, marker, ("sync",), 0),
            (closed, marker, ("-vv", "digest", "--send", "--now", NOW), 1),  # SMTP refused
            (config, marker, ("-vv", "digest", "--send", "--now", NOW), 0),  # sent, drafts
            (config, marker, ("-vv", "list", "--all", "--now", NOW), 0),
            (config, marker, ("-vv", "doctor"), 0),
            (config, marker, ("-vv", "status"), 0),
            (config, marker, ("-vv", "run", "--once"), None),
            (config, wrong, ("-vv", "sync"), 1),  # the wrong password is now the secret
            (config, wrong, ("-vv", "doctor"), 1),
            (config, wrong, ("-vv", "digest", "--send", "--now", "2026-11-24T08:00"), 1),
            (config, wrong, ("-vv", "run", "--once"), 1),
        ]
        for path, password, args, expected in runs:
            code, out = _run(path, password, *args)
            if expected is not None:
                assert code == expected, (args, out.decode(errors="replace"))
            outputs.append((" ".join(args), out))
        # A password_command that prints the password, then fails.
        failing = _config(
            tmp_path / "f.toml",
            imap_server,
            user,
            smtp.port,
            extra=f"password_command = \"echo {wrong}; echo 'no key' >&2; exit 3\"",
        )
        code, out = _run(failing, "", "-vv", "sync")
        assert code == 1 and b"password_command failed with exit code 3: no key" in out
        outputs.append(("failing password_command", out))
        assert len(smtp.messages) == 1
        assert (user.name.encode(), marker.encode()) in smtp.logins  # the marker was used
        assert (user.name.encode(), wrong.encode()) in smtp.logins
        mail = smtp.messages
        files = {
            p.name: p.read_bytes()
            for p in (tmp_path / "state").iterdir()
            if p.is_file()  # the store, -wal, -shm
        }
        holder.close()
    assert {"watcher.sqlite3", "watcher.sqlite3-wal", "watcher.sqlite3-shm"} <= set(files)
    assert b"LOGIN **REDACTED**" in outputs[0][1]  # -vv logged the IMAP traffic, searched too
    for name, out in outputs:
        assert not _leaks(out, forms), (name, _leaks(out, forms))
    for name, data in files.items():
        assert not _leaks(data, forms), name
    for message in mail:
        assert not _leaks(message, forms)
    with imap_server.connect(user) as client:  # the drafts the digest saved
        client.select_folder("Drafts", readonly=True)
        drafts = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
    assert drafts
    assert not any(_leaks(data[b"BODY[]"], forms) for data in drafts.values())


# -- file permissions ----------------------------------------------------------------------

_OPEN_AND_STAT = """
import json, os, sys
from pathlib import Path
from watcher.store.store import Store
os.umask(0)
path = Path(sys.argv[1]) / "deep" / "state" / "watcher.sqlite3"
with Store.open(path) as store:
    with store.transaction():
        store.record_sync_success("a", 1)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in path.parent.iterdir()}
    modes["(state directory)"] = oct(path.parent.stat().st_mode & 0o777)
print(json.dumps(modes))
"""


def test_store_directory_and_files_are_owner_only_even_under_umask_0(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_STAT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modes = json.loads(result.stdout)
    assert modes == {
        "(state directory)": "0o700",
        "watcher.sqlite3": "0o600",
        "watcher.sqlite3-wal": "0o600",
        "watcher.sqlite3-shm": "0o600",
    }


def test_cli_sync_under_umask_0_creates_an_owner_only_state(tmp_path: Path) -> None:
    demo = WATCHER / "demo_mailbox"
    config = tmp_path / "c.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[[accounts]]\nname = "demo"\nmaildir = "{demo}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    command = f"umask 000 && exec {sys.executable} -m watcher --config {config} sync"
    result = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    state = tmp_path / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    for path in state.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_config_writable_by_others_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(INSECURE.format(host="127.0.0.1", extra=""), encoding="utf-8")
    config.chmod(0o644)
    assert load_settings(config).accounts
    config.chmod(0o666)  # group-writable too: see test_config_permissions.py
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    refusal = f"config.toml is writable by its group and others; chmod go-w {config}"
    assert str(caught.value) == refusal
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "sync"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {refusal}\n"


# -- SQL, shells, templates, paths ----------------------------------------------------------

# Interpolations allowed inside SQL text, per file: constant column lists and WHERE clauses
# built from constant strings only ("?" placeholders carry every value).
SQL_INTERPOLATIONS = {
    "store.py": {
        "', '.join(MESSAGE_COLUMNS)",  # _UPSERT, _SELECT: the column list, a constant
        "', '.join('?' * len(MESSAGE_COLUMNS))",  # _UPSERT: one "?" per column
        "' AND '.join(conditions)",  # messages(): "account = ?", "folder = ?" only
        "_SELECT",
        "where",
        "columns",  # stored_messages(): m.<constant column>
        "query",
        "len(MIGRATIONS)",  # PRAGMA user_version: an int constant
    },
}
# Names (not literals) passed as the SQL of execute(), per file: each a constant or built above.
SQL_NAMES = {
    "store.py": {"_UPSERT", "statement", "query"},  # statement: the MIGRATIONS constant
    "commands.py": {"_UNREPORTED", "_FOR_THREAD"},  # constants built from constants
}
_SQL_WORDS = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|PRAGMA|CREATE|DROP|ALTER|WHERE|VALUES)\b"
)
_EXECUTE = {"execute", "executemany", "executescript"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(WATCHER.rglob("*.py")):
        yield path.name, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _sql_problems(name: str, tree: ast.AST) -> list[str]:
    """SQL text that interpolates anything but a whitelisted constant, or is built at run time."""
    allowed = SQL_INTERPOLATIONS.get(name, set())
    problems = []
    sql_strings: list[ast.JoinedStr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if _SQL_WORDS.search(text):
                sql_strings.append(node)
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _EXECUTE
            and node.args
        ):
            continue
        sql = node.args[0]
        where = f"{name}:{node.lineno}"
        if isinstance(sql, ast.Constant) and isinstance(sql.value, str):
            continue
        if isinstance(sql, ast.Name):
            if sql.id not in SQL_NAMES.get(name, set()):
                problems.append(f"{where} runs the SQL in variable {sql.id}")
        elif isinstance(sql, ast.JoinedStr):
            sql_strings.append(sql)  # SQL whatever its words
        else:  # "%" formatting, .format(), concatenation
            problems.append(f"{where} builds SQL with {ast.unparse(sql)[:80]}")
    for node in sql_strings:
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                source = ast.unparse(value.value)
                if source not in allowed:
                    problems.append(f"{name}:{node.lineno} interpolates {source}")
    return problems


def test_all_sql_is_parameterized() -> None:
    problems = [p for name, tree in _modules() for p in _sql_problems(name, tree)]
    assert problems == []


def test_the_sql_check_catches_interpolation() -> None:
    """The control: the check above fails on each of these."""
    for bad in (
        'db.execute(f"SELECT * FROM t WHERE a = {value}")',
        'db.execute(f"{_SELECT} ORDER BY {value}")',
        'db.execute("SELECT * FROM t WHERE a = %s" % value)',
        'db.execute("SELECT * FROM t WHERE a = {}".format(value))',
        'db.execute("SELECT * FROM t WHERE a = " + value)',
        "db.executemany(sql, rows)",
        'query = f"DELETE FROM t WHERE a = {value}"',
    ):
        assert _sql_problems("store.py", ast.parse(bad)), bad


_PROCESS_CALLS = {
    "subprocess": {
        "run",
        "Popen",
        "call",
        "check_call",
        "check_output",
        "getoutput",
        "getstatusoutput",
    },
    "os": {"system", "popen", "execv", "execve", "execl", "execlp", "execvp", "execvpe", "spawnl"}
    | {"spawnv", "spawnve", "spawnlp", "spawnvp", "posix_spawn", "posix_spawnp", "startfile"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "pty": {"spawn"},
}


def test_only_the_configured_commands_reach_a_shell() -> None:
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in _PROCESS_CALLS:
                imported = {a.name for a in node.names} & _PROCESS_CALLS[node.module]
                assert not imported, f"{name}: from {node.module} import {imported}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.attr in _PROCESS_CALLS.get(node.func.value.id, ())
            ):
                found.append((name, f"{node.func.value.id}.{node.func.attr}", node))
    assert [(n, f) for n, f, _ in found] == [
        ("credentials.py", "subprocess.Popen"),
        ("deliver.py", "subprocess.run"),
    ]
    call, sendmail = [node for _, _, node in found]
    assert ast.unparse(call.args[0]) == "command"  # _run_command's parameter
    # send_sendmail's argument list, never a shell; send.py gives it [digest] sendmail_command.
    assert ast.unparse(sendmail.args[0]) == "list(argv)"
    assert not any(k.arg == "shell" for k in sendmail.keywords)
    send = dict(_modules())["send.py"]
    assert [
        ast.unparse(node.args[1])
        for node in ast.walk(send)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "send_sendmail"
    ] == ["sendmail_argv(options)"]
    # ... and _run_command is only ever given the two command settings of the account.
    credentials = dict(_modules())["credentials.py"]
    given = sorted(
        ast.unparse(node.args[1])
        for node in ast.walk(credentials)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_run_command"
    )
    assert given == ["account.oauth2_token_command", "account.password_command"]


def test_jinja_loads_only_package_templates_with_html_autoescaped() -> None:
    environment = render._environment()
    assert isinstance(environment.loader, jinja2.PackageLoader)
    assert environment.list_templates() == ["digest.html.j2", "digest.txt.j2"]
    assert environment.autoescape("digest.html.j2") is True  # type: ignore[operator]
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in (
                "from_string",
                "Template",
                "FileSystemLoader",
                "DictLoader",
                "FunctionLoader",
                "BaseLoader",
            ):
                pytest.fail(f"{name}:{node.lineno} uses jinja2 {node.attr}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "jinja2.Environment":
                assert name == "render.py"


def test_mail_is_a_value_in_a_follow_up_template_never_the_template() -> None:
    hostile = "{greeting.__class__.__mro__} {0} {first_name!r:>9999} {{7*7}}"
    text = suggest_follow_up(
        first_name="{days}",
        subject=hostile,
        kind="proposal",
        sent_on=dt.date(2026, 11, 2),
        quiet_days=12,
        rung="first",
        reminder_number=0,
        templates={"first": "{greeting} about {subject}, {days} days."},
    )
    assert hostile in text and "{days}" in text and "12 days" in text


# Audited events that touch files or start programs (see the audit events table).
_FILE_EVENTS = re.compile(
    r"^(?:open|os\.\w+|shutil\.\w+|sqlite3\.connect|tempfile\.\w+|pathlib\.\w+|glob\.glob)$"
)
_PROCESS_EVENTS = re.compile(
    r"^(?:subprocess\.Popen|os\.(?:system|exec|spawn|posix_spawn|fork)\w*)"
)
_audit: dict[str, list[tuple[str, str]]] = {}


def _hook(event: str, args: tuple[object, ...]) -> None:
    record = _audit.get("on")
    if record is None:
        return
    if _FILE_EVENTS.match(event) or _PROCESS_EVENTS.match(event) or event in ("compile", "exec"):
        record.append((event, repr(args)[:2000]))


sys.addaudithook(_hook)


@contextmanager
def audited() -> Iterator[list[tuple[str, str]]]:
    events: list[tuple[str, str]] = []
    _audit["on"] = events
    try:
        yield events
    finally:
        _audit.pop("on", None)


PATH_MARK = "PathMark7q"


def _path_like_mail() -> list[bytes]:
    """Mail whose every field looks like a path, a command or template code."""
    evil = f"../../../tmp/{PATH_MARK}/x; touch /tmp/{PATH_MARK} {{{{ {PATH_MARK} }}}}"
    fields = (
        f"From: {PATH_MARK} <me@example.test>\r\n"
        f"To: {PATH_MARK} <ana@client.example>\r\n"
        f"Subject: Proposal {evil}\r\n"
        f"Message-ID: <{PATH_MARK}/../x@example.test>\r\n"
        f"Date: Mon, 02 Nov 2026 09:00:00 +0100\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    ).encode()
    body = (
        f"--b\r\nContent-Type: text/plain\r\n\r\n{evil} EUR 9,800\r\n"
        f'--b\r\nContent-Type: application/pdf; name="../../{PATH_MARK}.pdf"\r\n'
        f'Content-Disposition: attachment; filename="/tmp/{PATH_MARK}.pdf"\r\n\r\n%PDF\r\n--b--\r\n'
    ).encode()
    return [fields + body, NASTY["html-subject"], NASTY["crlf-injection"]]


def test_mail_reaches_no_path_no_process_and_no_code(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    raws = _path_like_mail()
    for raw in raws:
        imap_server.append(mail_user, "Sent", raw)
    through_everything(raws, tmp_path)  # warm up: templates compiled, modules imported
    with tempfile.TemporaryDirectory() as directory, audited() as events:
        through_everything(raws, Path(directory))
        with Store.open(Path(directory) / "imap.sqlite3") as store:
            run_sync(imap_server, mail_user, store)
            assert store.count_messages() == len(raws)
    assert events  # the hook saw the store being opened: it works
    touched = [(e, a) for e, a in events if PATH_MARK in a]
    assert touched == []
    assert not [e for e, _ in events if _PROCESS_EVENTS.match(e)]


def test_the_audit_hook_sees_files_and_processes(tmp_path: Path) -> None:
    """The control: the hook above would have caught these."""
    with audited() as events:
        (tmp_path / PATH_MARK).write_text("x")
        subprocess.run(["true"], check=True)
        compile(f"x = '{PATH_MARK}'", "<m>", "exec")
    assert any(e == "open" and PATH_MARK in a for e, a in events)
    assert any(e == "subprocess.Popen" for e, _ in events)
    assert any(e == "compile" and PATH_MARK in a for e, a in events)


def test_socket_module_is_not_a_path_either() -> None:
    """Unix sockets are paths too: the watcher opens none from mail (systemd notify only)."""
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "AF_UNIX":
                assert name == "notify.py", name
    assert socket.AF_UNIX  # the attribute checked exists
