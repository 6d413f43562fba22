"""The TLS probe: handshake with an https target and read when its certificate expires.

What blackbox_exporter's ``probe_ssl_earliest_cert_expiry`` tells, for the runner's
``synthetic_tls_cert_expiry_timestamp_seconds``: ``TlsResult.not_after`` is the leaf
certificate's expiry as unix time. The expiry is read from the certificate's DER bytes, so it
is known also when verification is off (``verify=False``) and no extra package is needed.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import os
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from probes.context import ProbeContext
from probes.result import Reason, TlsResult

__all__ = ["TlsModule", "probe", "not_after_of"]


class TlsModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_seconds: float = 5.0
    verify: bool = True  # check the chain and the host name, as a browser does
    ca_file: Path | None = None  # trust these roots instead of the system's (private CAs, tests)
    server_name: str | None = None  # SNI and the name to verify; default: the target's host


class CertificateFormatError(ValueError):
    """DER bytes that are not an X.509 certificate with a validity period."""


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """One DER element at ``at``: (tag, start of its content, end of its content)."""
    if at + 2 > len(der):
        raise CertificateFormatError("truncated element")
    tag, length = der[at], der[at + 1]
    start = at + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise CertificateFormatError("bad length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise CertificateFormatError("truncated content")
    return tag, start, start + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    at = start
    while at < end:
        tag, content, after = _tlv(der, at)
        found.append((tag, content, after))
        at = after
    return found


_UTC_TIME, _GENERALIZED_TIME, _SEQUENCE = 0x17, 0x18, 0x30


def _asn1_time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii")
    if not text.endswith("Z"):
        raise CertificateFormatError("time is not in UTC")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; 50-99 are 1950-1999 (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise CertificateFormatError("validity is not a time")
    parsed = time.strptime(text[:14], "%Y%m%d%H%M%S")
    return float(calendar.timegm(parsed))


def not_after_of(der: bytes) -> float:
    """The certificate's notAfter as unix time (Certificate > tbsCertificate > validity)."""
    tag, start, end = _tlv(der, 0)
    if tag != _SEQUENCE:
        raise CertificateFormatError("not a certificate")
    tag, start, end = _tlv(der, start)
    if tag != _SEQUENCE:
        raise CertificateFormatError("no tbsCertificate")
    fields = _children(der, start, end)
    if fields and fields[0][0] == 0xA0:  # the optional [0] version
        fields = fields[1:]
    if len(fields) < 4 or fields[3][0] != _SEQUENCE:  # serial, signature, issuer, validity
        raise CertificateFormatError("no validity")
    validity = _children(der, fields[3][1], fields[3][2])
    if len(validity) != 2:
        raise CertificateFormatError("validity needs notBefore and notAfter")
    tag, start, end = validity[1]
    return _asn1_time(tag, der[start:end])


def _context(module: TlsModule) -> ssl.SSLContext:
    """The context for ``module``'s trust settings, built once per trust source and again when
    it changes: loading the system's CA store takes 20-60 ms of CPU, which would stall the
    runner's event loop on every run (uptime checks four services every 15 s). The default
    store is OpenSSL's, which ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` redirect, so they are
    part of the source."""
    ca_file = str(module.ca_file) if module.ca_file else None
    default_file, default_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    source = (ca_file, None, None) if ca_file else (None, default_file, default_dir)
    return _built_context(module.verify, *source, _version(ca_file or default_file))


def _version(path: str | None) -> int | None:
    """When the file at ``path`` last changed (None for no file, or one that is not there)."""
    try:
        return os.stat(path).st_mtime_ns if path else None
    except OSError:
        return None


@functools.lru_cache(maxsize=16)
def _built_context(
    verify: bool, ca_file: str | None, default_file: str | None, default_dir: str | None, version: int | None
) -> ssl.SSLContext:
    """One context per trust source; the arguments past ``ca_file`` only key the cache."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def _host_port(target: str) -> tuple[str, int]:
    parts = urlsplit(target if "//" in target else f"//{target}")
    if not parts.hostname:
        raise ValueError(f"no host in {target!r}")
    return parts.hostname, parts.port or 443


async def probe(target: str, module: TlsModule, ctx: ProbeContext) -> TlsResult:
    """Handshake with ``target`` (``https://host[:port]`` or ``host:port``) and read its expiry."""
    host, port = _host_port(target)
    server_name = module.server_name or host
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host,
                port,
                ssl=_context(module),
                server_hostname=server_name,
                ssl_handshake_timeout=module.timeout_seconds,
            ),
            module.timeout_seconds,
        )
    except TimeoutError:
        return TlsResult.failed(
            Reason.TIMEOUT, f"TLS handshake with {host}:{port} timed out", {"handshake": time.perf_counter() - started}
        )
    except ssl.SSLCertVerificationError as exc:
        return TlsResult.failed(
            Reason.TLS_ERROR,
            f"{host}:{port}: {exc.verify_message or 'verify failed'}",
            {"handshake": time.perf_counter() - started},
        )
    except ssl.SSLError as exc:
        return TlsResult.failed(
            Reason.TLS_ERROR,
            f"{host}:{port}: TLS handshake failed ({exc.reason})",
            {"handshake": time.perf_counter() - started},
        )
    except (ConnectionError, OSError) as exc:
        return TlsResult.failed(
            Reason.CONNECT_ERROR, f"{host}:{port}: {type(exc).__name__}", {"handshake": time.perf_counter() - started}
        )
    phases = {"handshake": time.perf_counter() - started}
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        version = ssl_object.version() if ssl_object is not None else None
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
            pass
        del reader
    if not der:
        return TlsResult.failed(Reason.TLS_ERROR, f"{host}:{port}: no peer certificate", phases)
    try:
        not_after = not_after_of(der)
    except (CertificateFormatError, ValueError, UnicodeDecodeError) as exc:
        return TlsResult.failed(Reason.TLS_ERROR, f"{host}:{port}: unreadable certificate ({exc})", phases)
    return TlsResult(success=True, phases=phases, not_after=not_after, tls_version=version)
