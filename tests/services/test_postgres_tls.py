"""PostgreSQL over TLS with ``sslmode=verify-full``: the DATABASE_URL's ``sslmode`` /
``sslrootcert`` reach psycopg and the backup tools (pg_dump, pg_restore, psql), checked against
a throw-away server (initdb + pg_ctl on a free port, ``ssl=on`` with a certificate from
``oms tls self-signed``, plain connections rejected by pg_hba)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from core import db, tls
from core.permissions import SYSTEM
from core.schema import upgrade
from core.services import backup
from tests.api.conftest import free_port
from tests.conftest import BACKEND

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AS_ROOT = os.geteuid() == 0  # initdb refuses root: the server then runs as the postgres user


def test_ssl_parameters_of_the_url_reach_psycopg_and_the_backup_tools(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    url = ("postgresql+psycopg://shop@db.example:5433/oms?sslmode=verify-full"
           f"&sslrootcert={tmp_path / 'root.pem'}&sslcert={tmp_path / 'c.pem'}&sslkey={tmp_path / 'k.pem'}")
    engine = db.make_engine(url)
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert kwargs["sslmode"] == "verify-full" and kwargs["sslrootcert"] == str(tmp_path / "root.pem")
    engine.dispose()
    env = backup._pg_env(make_url(url))
    assert (env["PGSSLMODE"], env["PGSSLROOTCERT"], env["PGSSLCERT"], env["PGSSLKEY"]) == (
        "verify-full", str(tmp_path / "root.pem"), str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    assert "PGSSLMODE" not in backup._pg_env(make_url("postgresql+psycopg://shop@db.example/oms"))


def _as_server(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if AS_ROOT else args


@pytest.fixture
def tls_server() -> Iterator[tuple[int, tls.Certificate]]:
    """A PostgreSQL 15 server on a free port that takes only TLS connections."""
    if BACKEND != "postgres":
        pytest.skip("runs with the PostgreSQL suite (OMS_TEST_BACKEND=postgres)")
    if not (PG_BIN / "initdb").exists() or (AS_ROOT and shutil.which("runuser") is None):
        pytest.skip("PostgreSQL 15 server binaries (initdb, pg_ctl) are not installed")
    home = Path(tempfile.mkdtemp(prefix="oms-pg-tls-"))
    data = home / "data"
    cert = tls.self_signed(home / "tls", ("localhost", "127.0.0.1"))
    if AS_ROOT:
        shutil.chown(home, "postgres")
        for path in (cert.cert, cert.key, cert.cert.parent):
            shutil.chown(path, "postgres")
    port = free_port()
    try:
        subprocess.run(_as_server([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                   "--no-sync"]), check=True, capture_output=True)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{home}'\n"
                       f"ssl = on\nssl_cert_file = '{cert.cert}'\nssl_key_file = '{cert.key}'\nfsync = off\n")
        (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
                                          "hostnossl all all 127.0.0.1/32 reject\n")
        subprocess.run(_as_server([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                                   "start"]), check=True, capture_output=True, timeout=60)
        yield port, cert
    finally:
        subprocess.run(_as_server([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _url(port: int, database: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"postgresql+psycopg://postgres@localhost:{port}/{database}?{query}"


def test_verify_full_connects_and_backups_travel_over_tls(tls_server: tuple[int, tls.Certificate], db_url: str,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port, cert = tls_server
    monkeypatch.setenv("PGSSLMODE", "disable")  # the URL's settings must win over the environment's
    secure = {"sslmode": "verify-full", "sslrootcert": str(cert.cert)}
    engine = db.make_engine(_url(port, "postgres", **secure))
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        assert conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one() is True
        conn.execute(text("CREATE DATABASE oms"))
    engine.dispose()
    # a certificate the client does not trust, and a plain connection: both refused
    stranger = tls.self_signed(tmp_path / "stranger", ("localhost",))
    for params, refusal in (({"sslmode": "verify-full", "sslrootcert": str(stranger.cert)}, "certificate verify failed"),
                            ({"sslmode": "disable"}, "no encryption|reject")):
        refused = db.make_engine(_url(port, "postgres", **params))
        with pytest.raises(OperationalError, match=refusal), refused.connect():
            pass
        refused.dispose()
    # pg_dump, pg_restore and psql only get in with the URL's TLS settings (hostnossl is rejected)
    url = _url(port, "oms", **secure)
    oms = db.make_engine(url)
    upgrade(oms)
    oms.dispose()
    made = backup.backup(tmp_path / "tls.omsbak", SYSTEM, url=url)
    assert made.tables > 0
    assert backup.restore(made.path, SYSTEM, url=url).rows == made.rows
    db.dispose_all()
