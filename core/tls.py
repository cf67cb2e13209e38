"""A self-signed TLS certificate for a shop without one (``oms tls self-signed``).

The app (Streamlit ``server.sslCertFile``/``sslKeyFile``), the API (``oms api serve
--ssl-certfile/--ssl-keyfile``) and a PostgreSQL server (``ssl_cert_file``/``ssl_key_file``)
all take a certificate and key in PEM files. A shop with a domain should use a certificate from
its CA; for a shop on a local network this makes one that is its own trust anchor: clients trust
exactly this certificate (browsers after a one-time exception or by importing the file; the
API's clients with ``verify=cert.pem``; libpq with ``sslrootcert=cert.pem sslmode=verify-full``).
No CA is created, so the key cannot sign anything else.

An ECDSA P-256 key, SHA-256, the names given as subject alternative names (DNS names and IP
addresses; clients check these, not the common name).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import Refused
from core.timeutil import real_utcnow

CERT_NAME, KEY_NAME = "oms-cert.pem", "oms-key.pem"
MAX_DAYS = 3650
MAX_HOSTS = 50


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    hosts: tuple[str, ...]
    not_after: dt.datetime
    sha256: str


def default_hosts() -> tuple[str, ...]:
    """``localhost``, the loopback addresses and this machine's name."""
    return tuple(dict.fromkeys(("localhost", "127.0.0.1", "::1", socket.gethostname())))


def _name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        if not host or len(host) > 253 or any(c.isspace() or c in "/\\@:" for c in host):
            raise Refused("tls.bad_host", host=host) from None
        return x509.DNSName(host)


def self_signed(out: Path, hosts: tuple[str, ...] = (), days: int = 825, now: dt.datetime | None = None,
                overwrite: bool = False) -> Certificate:
    """Write ``oms-cert.pem`` and ``oms-key.pem`` (owner-only) into ``out`` for ``hosts``."""
    names = tuple(dict.fromkeys(hosts or default_hosts()))
    if len(names) > MAX_HOSTS:
        raise Refused("tls.too_many_hosts", limit=MAX_HOSTS)
    if not 1 <= days <= MAX_DAYS:
        raise Refused("tls.bad_days", days=days, limit=MAX_DAYS)
    alt_names = [_name(h) for h in names]
    cert_path, key_path = out / CERT_NAME, out / KEY_NAME
    if not overwrite and (cert_path.exists() or key_path.exists()):
        raise Refused("tls.exists", file=str(cert_path if cert_path.exists() else key_path))
    key = ec.generate_private_key(ec.SECP256R1())
    # the machine's real clock, not the pinned one: TLS clients check validity against theirs
    start = (now or real_utcnow()).replace(microsecond=0)
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OMS self-signed")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - dt.timedelta(minutes=5)).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    out.mkdir(parents=True, exist_ok=True)
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Certificate(cert_path, key_path, names, cert.not_valid_after_utc.replace(tzinfo=None),
                       cert.fingerprint(hashes.SHA256()).hex(":"))


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``, created with ``mode`` from the start (a key is never
    readable by others, not even for a moment)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(partial, path)
