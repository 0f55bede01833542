"""Choose the AD backend by name (``AD=memory|samba``) for the CLI, the demo, the benchmarks and the tests.

``open_directory("samba", run_dir)`` provisions the template once under ``SAMBA_TEMPLATE_DIR`` (default
``.state/samba`` in the repository), runs a copy in ``run_dir`` and yields the LDAPS backend plus the controller
(for its address and credentials); leaving the block closes the connections and stops samba by its pid.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulators.entra.ad.base import ActiveDirectory
from emulators.entra.ad.ldap import LdapDirectory
from emulators.entra.ad.samba import SambaDomainController, ensure_template

BACKENDS = ("memory", "samba")
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DOMAIN = "contoso.com"


def template_root() -> Path:
    return Path(os.environ.get("SAMBA_TEMPLATE_DIR") or REPO_ROOT / ".state" / "samba")


def backend_name(value: str | None = None) -> str:
    """The backend asked for (argument, else ``$AD``, else memory); a clear ValueError for anything else."""
    name = (value or os.environ.get("AD") or "memory").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"AD must be one of {', '.join(BACKENDS)}, not {name!r}")
    return name


@dataclass
class RunningDirectory:
    """The backend to hand to the emulator (None: the memory default) and, for samba, its controller."""

    backend: ActiveDirectory | None
    controller: SambaDomainController | None = None


@contextmanager
def open_directory(kind: str, run_dir: Path, domain: str = DEFAULT_DOMAIN) -> Iterator[RunningDirectory]:
    if backend_name(kind) == "memory":
        yield RunningDirectory(backend=None)
        return
    template = ensure_template(template_root(), domain)
    controller = SambaDomainController(template, Path(run_dir) / "samba", domain).start()
    directory = LdapDirectory(controller.access)
    try:
        yield RunningDirectory(backend=directory, controller=controller)
    finally:
        directory.close()
        controller.stop()


def ldapsearch_hint(controller: SambaDomainController) -> str:
    """The shell lines to look at the running directory with ldapsearch (ldap-utils)."""
    access = controller.access
    return (
        f"LDAPTLS_CACERT={access.ca_path} ldapsearch -H {access.url} -x -D '{access.admin_user}' "
        f"-y {access.admin_password_file} -b '{access.base_dn}' "
        "'(&(objectCategory=person)(employeeID=*))' sAMAccountName userPrincipalName employeeID "
        "userAccountControl manager uSNChanged"
    )
