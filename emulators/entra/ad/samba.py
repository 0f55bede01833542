"""A real AD domain controller on loopback: Samba 4 provisioned once into a template, copied per run.

``ensure_template`` provisions ``<domain>`` under a state directory (never a system path) the first time, in about
ten seconds: the domain itself, Exchange's ``mailNickname`` attribute (as in a hybrid Exchange forest), the
``OU=Employees`` target OU, an ``OU=Restricted`` OU that does not inherit domain permissions, and the provisioning
agent's service account ``svc-provagent`` with the rights Microsoft documents for the agent's gMSA: read/write of
every user object in the domain (create/delete users, read/write their properties, reset their passwords).

``SambaDomainController`` copies the template (well under a second), gives the copy its own loopback address
``127.0.0.N`` (the LDAP ports are fixed, so parallel directories cannot share one), a TLS certificate from its own
CA, and runs ``samba -i -M single`` with only the LDAP service until ``stop()`` ends that process by its pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

from emulators.entra.ad.base import RESTRICTED_OU, TARGET_OU, domain_dn

DEBIAN_PACKAGES = ("samba", "samba-dsdb-modules", "samba-ad-provision", "ldb-tools")
INSTALL_HINT = "apt-get install --no-install-recommends " + " ".join(DEBIAN_PACKAGES)
#: Bump when the template recipe changes, so old templates are rebuilt instead of reused.
RECIPE_VERSION = 1
AGENT_ACCOUNT = "svc-provagent"
START_TIMEOUT_SECONDS = 30.0
LDAPS_PORT = 636
#: User class and rights GUIDs (MS-ADTS): the user object class, and User-Force-Change-Password.
_USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
_USER_FORCE_CHANGE_RIGHT = "00299570-246d-11d0-a768-00aa006e0529"
_MAIL_NICKNAME_GUID = "bf9679d3-0de6-11d0-a285-00aa003049e2"


class SambaUnavailable(RuntimeError):
    """Samba is not installed, or could not be provisioned or started; the message says which and why."""


@dataclass(frozen=True)
class DirectoryAccess:
    """How a client reaches one running directory over LDAPS."""

    host: str
    port: int
    ca_path: Path
    base_dn: str
    domain: str
    agent_user: str
    agent_password: str
    admin_user: str
    admin_password: str

    @property
    def url(self) -> str:
        return f"ldaps://{self.host}:{self.port}"

    @property
    def admin_password_file(self) -> Path:
        """The admin password in a 0600 file (``ldapsearch -y``), so it need not appear on a command line."""
        return self.ca_path.parent / "admin.pw"


def missing_tools() -> list[str]:
    """The Samba programs this module needs that are not on this machine (empty when all are)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    tools = ("samba", "samba-tool", "ldbmodify", "ldbsearch")
    return [tool for tool in tools if shutil.which(tool, path=search) is None]


def _tool(name: str) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    found = shutil.which(name, path=search)
    if found is None:
        raise SambaUnavailable(f"Samba AD DC is not installed ({name} not found); install it with: {INSTALL_HINT}")
    return found


def require_samba() -> None:
    """Raise SambaUnavailable naming the packages when any tool is missing."""
    missing = missing_tools()
    if missing:
        raise SambaUnavailable(
            f"Samba AD DC is not installed ({', '.join(missing)} not found); install it with: {INSTALL_HINT}"
        )


def samba_version() -> str:
    completed = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [_tool("samba"), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return completed.stdout.strip().replace("Version ", "") or "unknown"


def _run(command: list[str], *, what: str, timeout: float = 180.0) -> str:
    try:
        completed = subprocess.run(  # noqa: S603 - argv built here from the samba tools' paths, no shell
            command, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        raise SambaUnavailable(f"{what} did not finish within {timeout:.0f} s") from error
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        raise SambaUnavailable(f"{what} failed (exit {completed.returncode}): {' | '.join(tail)}")
    return completed.stdout


def _password() -> str:
    """A throwaway account password that satisfies AD's complexity rule (all four character classes)."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-.:=@_")
    chars = [secrets.choice(group) for group in classes] + [secrets.choice("".join(classes)) for _ in range(20)]
    random.SystemRandom().shuffle(chars)
    # A letter first: samba-tool takes the password as a positional argument and reads a leading "-" as an option.
    return secrets.choice(string.ascii_letters) + "".join(chars)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_template(state_root: Path, domain: str) -> Path:
    """The provisioned template for ``domain`` under ``state_root``, built once (concurrent callers wait)."""
    require_samba()
    name = f"samba-template-{domain}-{samba_version().replace(' ', '_')}-r{RECIPE_VERSION}"
    final = Path(state_root).resolve() / name
    with _locked(final.parent / f"{final.name}.lock"):
        if (final / "ready").exists():
            return final
        shutil.rmtree(final, ignore_errors=True)
        building = final.with_name(f".{name}.{uuid.uuid4().hex[:8]}")
        try:
            _provision(building, domain)
            building.rename(final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return final


def _provision(target: Path, domain: str) -> None:
    target.mkdir(parents=True)
    empty = target / "empty.conf"
    empty.write_text("")
    admin_password, agent_password = _password(), _password()
    base = domain_dn(domain)
    _run(
        [
            _tool("samba-tool"),
            "domain",
            "provision",
            "-s",
            str(empty),
            f"--targetdir={target / 'dc'}",
            f"--realm={domain.upper()}",
            f"--domain={domain.split('.', maxsplit=1)[0].upper()[:15]}",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--adminpass={admin_password}",
            "--option=vfs objects = posixacl",
            "--option=interfaces = 127.0.0.1/8",
            "--option=bind interfaces only = yes",
            "--option=ldb:nosync = true",
            "--option=server services = ldap",
        ],
        what="samba-tool domain provision",
    )
    sam = str(target / "dc" / "private" / "sam.ldb")
    schema = f"CN=Schema,CN=Configuration,{base}"
    # Schema first (its own pass, so the second pass sees the new attribute), then the OUs.
    ldifs = [
        f"dn: CN=ms-Exch-Mail-Nickname,{schema}\nchangetype: add\nobjectClass: attributeSchema\n"
        "lDAPDisplayName: mailNickname\nadminDisplayName: ms-Exch-Mail-Nickname\nattributeID: 1.2.840.113556.1.2.447\n"
        "attributeSyntax: 2.5.5.12\noMSyntax: 64\nisSingleValued: TRUE\nrangeLower: 1\nrangeUpper: 64\n"
        f"searchFlags: 1\nschemaIDGUID: {_MAIL_NICKNAME_GUID}\n",
        f"dn: CN=User,{schema}\nchangetype: modify\nadd: mayContain\nmayContain: mailNickname\n",
        f"dn: {TARGET_OU},{base}\nchangetype: add\nobjectClass: organizationalUnit\n\n"
        f"dn: {RESTRICTED_OU},{base}\nchangetype: add\nobjectClass: organizationalUnit\n"
        # Protected (no inheritance): only admins and SYSTEM may write; everyone authenticated may read.
        "nTSecurityDescriptor: O:DAG:DAD:PAI(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)"
        "(A;;RPLCLORC;;;AU)\n",
    ]
    for index, ldif in enumerate(ldifs):
        path = target / f"step{index}.ldif"
        path.write_text(ldif, encoding="utf-8")
        _run(
            [_tool("ldbmodify"), "-H", sam, "--option=dsdb:schema update allowed=true", str(path)],
            what=f"ldbmodify step {index}",
        )
        path.unlink()
    conf = str(target / "dc" / "etc" / "smb.conf")
    _run(
        [_tool("samba-tool"), "user", "add", AGENT_ACCOUNT, agent_password, "-H", sam, "-s", conf],
        what="samba-tool user add",
    )
    found = _run(
        [_tool("ldbsearch"), "-H", sam, f"(sAMAccountName={AGENT_ACCOUNT})", "objectSid"], what="ldbsearch agent"
    )
    sid = next(line.split(":", 1)[1].strip() for line in found.splitlines() if line.startswith("objectSid:"))
    _run(
        [
            _tool("samba-tool"),
            "dsacl",
            "set",
            "-H",
            sam,
            "-s",
            conf,
            f"--objectdn={base}",
            f"--sddl=(OA;CI;CCDC;{_USER_CLASS};;{sid})(OA;CIIO;RPWP;;{_USER_CLASS};{sid})"
            f"(OA;CIIO;CR;{_USER_FORCE_CHANGE_RIGHT};{_USER_CLASS};{sid})",
        ],
        what="samba-tool dsacl set",
    )
    secrets_path = target / "secrets.json"
    secrets_path.write_text(
        json.dumps({"adminPassword": admin_password, "agentPassword": agent_password, "builtIn": str(target)})
    )
    secrets_path.chmod(0o600)
    (target / "ready").write_text(domain)


def _address_free(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, LDAPS_PORT))
        except OSError:
            return False
    return True


def _pick_address(exclude: set[str]) -> str:
    """A 127.0.0.N whose LDAPS port is free (N from a shuffled 2..250; 127.0.0.1 is left to everything else)."""
    candidates = [f"127.0.0.{n}" for n in range(2, 251)]
    random.shuffle(candidates)
    for address in candidates:
        if address not in exclude and _address_free(address):
            return address
    raise SambaUnavailable("no free loopback address 127.0.0.2-250 for LDAPS")


class SambaDomainController:
    """One running copy of the template. ``start()`` returns when LDAPS answers a bind; ``stop()`` ends it."""

    def __init__(self, template: Path, run_dir: Path, domain: str) -> None:
        self.template = Path(template)
        self.run_dir = Path(run_dir).resolve()
        self.domain = domain
        self.address = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._access: DirectoryAccess | None = None

    @property
    def log_path(self) -> Path:
        return self.run_dir / "samba.log"

    @property
    def access(self) -> DirectoryAccess:
        assert self._access is not None, "start() the directory first"
        return self._access

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> SambaDomainController:
        tried: set[str] = set()
        last: SambaUnavailable | None = None
        for _attempt in range(3):  # another process may take the address between the probe and samba's bind
            self.address = _pick_address(tried)
            tried.add(self.address)
            try:
                self._start_once(timeout)
                return self
            except SambaUnavailable as error:
                last = error
                self.stop()
        assert last is not None
        raise last

    def _start_once(self, timeout: float) -> None:
        meta = json.loads((self.template / "secrets.json").read_text())
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        shutil.copytree(self.template / "dc", self.run_dir / "dc", symlinks=True)
        ca_path = self._issue_certificate()
        conf = self.run_dir / "dc" / "etc" / "smb.conf"
        text = conf.read_text().replace(str(Path(meta["builtIn"]) / "dc"), str(self.run_dir / "dc"))
        text = text.replace("interfaces = 127.0.0.1/8", f"interfaces = {self.address}/8")
        tls = self.run_dir / "tls"
        text = text.replace(
            "[global]",
            "[global]\n\ttls enabled = yes\n"
            f"\ttls keyfile = {tls / 'key.pem'}\n\ttls certfile = {tls / 'cert.pem'}\n\ttls cafile = {ca_path}\n"
            f"\tpid directory = {self.run_dir / 'dc'}",
            1,
        )
        conf.write_text(text)
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [_tool("samba"), "-i", "-M", "single", "-s", str(conf), "--debuglevel=1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        self._access = DirectoryAccess(
            host=self.address,
            port=LDAPS_PORT,
            ca_path=ca_path,
            base_dn=domain_dn(self.domain),
            domain=self.domain,
            agent_user=f"{AGENT_ACCOUNT}@{self.domain}",
            agent_password=meta["agentPassword"],
            admin_user=f"Administrator@{self.domain}",
            admin_password=meta["adminPassword"],
        )
        self._access.admin_password_file.write_text(meta["adminPassword"])
        self._access.admin_password_file.chmod(0o600)
        self._wait_until_ready(timeout)

    def _issue_certificate(self) -> Path:
        tls = self.run_dir / "tls"
        tls.mkdir(mode=0o700)
        ca = trustme.CA(organization_name=f"Samba AD for {self.domain} (local, untrusted)")
        leaf = ca.issue_cert(self.address, f"dc.{self.domain}", common_name=f"dc.{self.domain}")
        ca_path = tls / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        (tls / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key = tls / "key.pem"
        leaf.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)  # samba refuses a key file others can read
        return ca_path

    def _wait_until_ready(self, timeout: float) -> None:
        """Until a TLS handshake on 636 succeeds, samba exits (its log says why) or the deadline passes."""
        assert self._access is not None and self.process is not None
        context = ssl.create_default_context(cafile=str(self._access.ca_path))
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SambaUnavailable(f"samba exited with {self.process.returncode} at start: {self.log_tail()}")
            try:
                with (
                    socket.create_connection((self.address, LDAPS_PORT), timeout=1.0) as raw,
                    context.wrap_socket(raw, server_hostname=self.address),
                ):
                    return
            except (OSError, ssl.SSLError):
                pass
            if time.monotonic() > deadline:
                raise SambaUnavailable(
                    f"samba did not answer LDAPS on {self.address} within {timeout:.0f} s: {self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = 4) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """End samba by its pid (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> SambaDomainController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
