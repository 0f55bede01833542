"""The interface every AD backend offers the pipeline, Connect sync and the control API.

Users cross this boundary as dicts with Graph property names (``surname``, ``onPremisesSamAccountName``, ...)
plus ``id`` (the objectGUID), ``distinguishedName`` and ``manager`` (the manager's employeeId, as Connect sync
exports it). Each backend maps them to its own storage: the memory backend keeps the dicts, the Samba backend
writes LDAP attributes (see :mod:`emulators.entra.ad.attributes`).
"""

from __future__ import annotations

from typing import Any, Protocol

#: Where the provisioning agent creates users unless configured otherwise (``adTargetOu``), and where Connect
#: sync looks (``syncScopeOu``). AD-only people seeded by tests live in ``CN=Users``, outside that scope, the way
#: accounts created by hand usually are.
TARGET_OU = "OU=Employees"
UNSYNCED_CONTAINER = "CN=Users"
#: An OU the agent's account has no rights on, for the "permission error" scenario.
RESTRICTED_OU = "OU=Restricted"


def domain_dn(domain: str) -> str:
    """``contoso.com`` -> ``DC=contoso,DC=com``."""
    return ",".join(f"DC={part}" for part in domain.split("."))


def escape_rdn(value: str) -> str:
    """Escape an RDN value the way RFC 4514 asks (``,+"\\<>;=`` and leading/trailing blanks or ``#``)."""
    escaped = "".join("\\" + char if char in ',+"\\<>;=' else char for char in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def is_within(dn: str, container: str) -> bool:
    """Whether ``dn`` lies in (or is) ``container``, comparing case-insensitively."""
    dn, container = dn.lower(), container.lower()
    return dn == container or dn.endswith("," + container)


class ActiveDirectory(Protocol):
    """One AD domain. Writes raise :class:`~emulators.entra.ad.errors.DirectoryError`; callers hold the state lock."""

    #: ``DC=contoso,DC=com``.
    base_dn: str

    def find_by_employee_id(self, employee_id: str) -> dict[str, Any] | None:
        """The user whose employeeID matches (the agent's matching attribute), anywhere in the domain."""

    def find_by_user_principal_name(self, upn: str) -> dict[str, Any] | None:
        """The user whose userPrincipalName matches (case-insensitive), for a second matching attribute."""

    def get(self, object_id: str) -> dict[str, Any] | None:
        """A user by objectGUID, read fresh from the directory."""

    def users(self) -> list[dict[str, Any]]:
        """Every person account (built-in and service accounts excluded), for the control API's state view."""

    def name_in_use(self, container: str, common_name: str) -> bool:
        """Whether ``CN=<common_name>,<container>`` exists (the agent's SelectUniqueValue check for cn)."""

    def create(
        self,
        container: str,
        common_name: str,
        props: dict[str, Any],
        *,
        password: str | None,
        as_agent: bool,
    ) -> dict[str, Any]:
        """Create a user; ``as_agent`` writes with the provisioning agent's (delegated) rights, else as an admin."""

    def update(self, user: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Write ``changes`` (Graph names) to an existing user as the agent; returns the user as stored."""

    def set_manager(self, user: dict[str, Any], manager: dict[str, Any] | None, *, as_agent: bool) -> dict[str, Any]:
        """Point ``manager`` at the manager's DN (or clear it)."""

    def changed_since(self, usn: int, scope: str) -> tuple[list[dict[str, Any]], int]:
        """Users in ``scope`` whose uSNChanged is above ``usn``, and the highest USN seen (Connect sync's delta)."""

    def reset(self) -> None:
        """Remove every person account and restore the baseline OUs (control API reset)."""

    def close(self) -> None:
        """Release connections."""
