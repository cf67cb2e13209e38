"""In transit: `oms tls self-signed` makes a certificate that the API (`oms api serve --ssl-*`,
a real uvicorn subprocess) and the app (`streamlit run` with `server.sslCertFile`, a real
subprocess) serve HTTPS with; a client that trusts exactly that certificate gets answers, one
that trusts the system CAs is refused, and plain HTTP gets nothing."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core import tls
from core.cli import main
from core.permissions import SYSTEM
from core.services import api_tokens
from tests.api.conftest import free_port
from tests.factories import make_product

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cert(tmp_path: Path) -> tls.Certificate:
    return tls.self_signed(tmp_path / "tls", ("localhost", "127.0.0.1"))


def _get(url: str, cafile: Path | None, token: str | None = None, timeout: float = 5) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout, context=context) as reply:  # noqa: S310 - 127.0.0.1
        return reply.status, reply.read()


@contextmanager
def _server(args: list[str], env: dict[str, str], ready: str, cafile: Path, wait: float = 90) -> Iterator[
        subprocess.Popen[bytes]]:
    """A subprocess serving HTTPS, once ``ready`` answers (verified against ``cafile``)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                _get(ready, cafile)
                break
            except OSError as exc:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"the server stopped: {log.read().decode()[-2000:]}") from exc
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _refused_without_the_certificate(url: str) -> None:
    with pytest.raises(urllib.error.URLError) as refused:
        _get(url, None)
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def _plain_http_gets_no_answer(url: str) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url, timeout=5)  # noqa: S310 - 127.0.0.1


def test_the_api_serves_https_with_a_self_signed_certificate(db_url: str, cert: tls.Certificate) -> None:
    make_product("TEA-1", "25.00", {"SH": 5})
    token = api_tokens.create_token("tls", "admin", ["products:read"], SYSTEM).token
    port = free_port()
    with _server([sys.executable, "-m", "core.cli", "api", "serve", "--port", str(port), "--log-level", "warning",
                  "--ssl-certfile", str(cert.cert), "--ssl-keyfile", str(cert.key)], {"DATABASE_URL": db_url},
                 f"https://127.0.0.1:{port}/openapi.json", cert.cert):
        status, data = _get(f"https://localhost:{port}/products/TEA-1", cert.cert, token)
        assert status == 200 and json.loads(data)["sku"] == "TEA-1"
        _refused_without_the_certificate(f"https://127.0.0.1:{port}/openapi.json")
        _plain_http_gets_no_answer(f"http://127.0.0.1:{port}/openapi.json")


def test_api_serve_wants_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api", "serve", "--ssl-certfile", str(tmp_path / "c.pem")]) == 2
    assert "both --ssl-certfile and --ssl-keyfile" in capsys.readouterr().err
    assert main(["api", "serve", "--ssl-certfile", str(tmp_path / "c.pem"), "--ssl-keyfile", str(tmp_path / "k")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_streamlit_serves_the_app_over_https(db_url: str, cert: tls.Certificate) -> None:
    if shutil.which("streamlit") is None and not (Path(sys.prefix) / "bin" / "streamlit").exists():
        pytest.skip("streamlit is not installed")
    port = free_port()
    args = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
            str(port), "--server.address", "127.0.0.1", "--server.sslCertFile", str(cert.cert),
            "--server.sslKeyFile", str(cert.key), "--browser.gatherUsageStats", "false"]
    try:
        with _server(args, {"DATABASE_URL": db_url}, f"https://127.0.0.1:{port}/_stcore/health", cert.cert):
            status, data = _get(f"https://localhost:{port}/_stcore/health", cert.cert)
            assert (status, data) == (200, b"ok")
            status, page = _get(f"https://127.0.0.1:{port}/", cert.cert)
            assert status == 200 and b"<html" in page.lower()
            _refused_without_the_certificate(f"https://127.0.0.1:{port}/_stcore/health")
            _plain_http_gets_no_answer(f"http://127.0.0.1:{port}/_stcore/health")
    except AssertionError as exc:
        if "the server stopped" in str(exc):
            pytest.skip(f"streamlit could not start here: {exc}")
        raise
