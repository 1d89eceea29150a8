"""A throwaway PostgreSQL server for the tests in tests/db (fixture in conftest.py).

``initdb`` in a temporary directory, ``pg_ctl start`` on a free local port with the
socket in that directory, password (scram-sha-256) authentication for the test
role, and ``pg_ctl stop`` + removal at the end of the session, also after a
failure. PostgreSQL refuses to run as root: under root (the CI) the server runs as
the ``postgres`` system user the Debian package creates, else as ``nobody``.

Without the server binaries (Debian package ``postgresql``; ``make postgres``
installs it) or the ``postgres`` extra the tests are skipped, and fail instead when
``ONETOONE_REQUIRE_POSTGRES=1`` (as the CI sets).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE = "ONETOONE_REQUIRE_POSTGRES"


def unavailable(msg: str) -> None:
    """Skip with ``msg``, or fail when the environment requires PostgreSQL."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{msg} -- required because {REQUIRE}=1")
    pytest.skip(msg)


def find_bin_dir() -> Path:
    """The directory holding initdb and pg_ctl (newest Debian version first)."""
    on_path = shutil.which("initdb")
    candidates = [os.path.dirname(on_path)] if on_path else []
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for d in candidates + debian:
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return Path(d)
    unavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
        "/usr/lib/postgresql/*/bin; install the Debian package 'postgresql' "
        "(make postgres, or apt-get install -y postgresql)"
    )
    raise AssertionError("unreachable")


def check_driver() -> None:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        unavailable("the ADBC PostgreSQL driver is not installed; pip install 'onetoone[postgres]'")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    datadir: Path
    log: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as(user: str | None, args: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = args if user is None else ["runuser", "-u", user, "--", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _service_user() -> str | None:
    """None when not root; else an unprivileged account to run the server as."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        unavailable("running as root without runuser: cannot start PostgreSQL unprivileged")
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    unavailable("running as root and no unprivileged 'postgres' or 'nobody' account exists")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """A running throwaway server, stopped and removed on exit (also after a failure)."""
    bindir = find_bin_dir()
    check_driver()
    user = _service_user()
    root = Path(tempfile.mkdtemp(prefix="onetoone-pg-"))
    datadir = root / "data"
    log = root / "server.log"
    started = False
    try:
        os.chmod(root, 0o700)
        password = "pw-" + secrets.token_hex(12)
        (root / "pwfile").write_text(password + "\n", encoding="utf-8")
        if user is not None:
            entry = pwd.getpwnam(user)
            for p in (root, root / "pwfile"):
                os.chown(p, entry.pw_uid, entry.pw_gid)
        init = _run_as(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "onetoone_test",
                f"--pwfile={root / 'pwfile'}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )
        assert init.returncode == 0, f"initdb failed: {init.stdout}\n{init.stderr}"
        (root / "pwfile").unlink()
        port = 0
        for _ in range(3):  # another process may take the free port before the server
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
            )
            start = _run_as(
                user,
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-o",
                    options,
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
            )
            if start.returncode == 0:
                started = True
                break
        assert started, f"pg_ctl start failed: {start.stderr}\n{log.read_text()[-2000:]}"
        yield Server("127.0.0.1", port, "onetoone_test", password, "postgres", datadir, log)
    finally:
        if started:
            _run_as(
                user, [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
            )
        shutil.rmtree(root, ignore_errors=True)
