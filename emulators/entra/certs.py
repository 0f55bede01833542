"""A throwaway CA (trustme) and a server certificate that carries Microsoft's real hostnames.

The CA is kept in the state dir so a restarted emulator is still trusted by clients that were
given its ca.pem; the server certificate is reissued on every start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = (
    "login.microsoftonline.com",
    "graph.microsoft.com",
    "vault.azure.net",
    "*.vault.azure.net",
    "localhost",
    "127.0.0.1",
    "::1",
)


@dataclass(frozen=True)
class CertificateFiles:
    ca_path: Path
    cert_chain_path: Path
    key_path: Path


def ensure_certificates(
    state_dir: Path,
    names: tuple[str, ...] = SERVER_NAMES,
    prefix: str = "server",
    common_name: str = "graph.microsoft.com",
) -> CertificateFiles:
    """Load or create the CA in ``state_dir`` and issue a fresh server certificate from it.

    Other emulators behind the same proxy pass their own ``names`` and file ``prefix``: one CA for all.
    """
    cert_dir = state_dir / "tls"
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_path = cert_dir / "ca.pem"
    ca_key_path = cert_dir / "ca-key.pem"
    if ca_path.exists() and ca_key_path.exists():
        ca = trustme.CA.from_pem(ca_path.read_bytes(), ca_key_path.read_bytes())
    else:
        ca = trustme.CA(organization_name="Entra emulator (local, untrusted)")
        ca.cert_pem.write_to_path(str(ca_path))
        ca.private_key_pem.write_to_path(str(ca_key_path))
        ca_key_path.chmod(0o600)
    leaf = ca.issue_cert(*names, common_name=common_name)
    chain_path = cert_dir / f"{prefix}-chain.pem"
    key_path = cert_dir / f"{prefix}-key.pem"
    chain_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key_path))
    key_path.chmod(0o600)
    return CertificateFiles(ca_path=ca_path, cert_chain_path=chain_path, key_path=key_path)
