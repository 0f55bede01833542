"""The ``samba`` AD backend: every read and write goes over LDAPS to a real domain controller (ldap3).

The provisioning agent writes with its own service account (``svc-provagent``, the rights Microsoft documents for
the agent's gMSA); Connect sync, the control API's seeding and reset use the domain administrator, as an AD DS
connector account and a human admin would. Whatever the directory refuses comes back as a
:class:`~emulators.entra.ad.errors.DirectoryError` built from the LDAP result, never as a crash.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import string
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar, cast

from ldap3 import BASE, LEVEL, MODIFY_DELETE, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from emulators.entra.ad import errors
from emulators.entra.ad.attributes import (
    READ_ATTRIBUTES,
    UF_ACCOUNTDISABLE,
    UF_NORMAL_ACCOUNT,
    graph_values,
    guid_filter_value,
    guid_string,
    ldap_values,
)
from emulators.entra.ad.base import escape_rdn
from emulators.entra.ad.samba import AGENT_ACCOUNT, DirectoryAccess

USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
#: Person accounts: not the built-in ones (isCriticalSystemObject) and not the agent's service account.
PERSONS = (
    f"(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE))(!(sAMAccountName={AGENT_ACCOUNT})))"
)
#: The PASSWORD_COMPLEX bit of the domain's pwdProperties (MS-ADTS 3.1.1.3.1.1.1 / MS-SAMR).
DOMAIN_PASSWORD_COMPLEX = 0x1
T = TypeVar("T")
Scope = Literal["BASE", "LEVEL", "SUBTREE"]


class _Writes(Protocol):
    """ldap3's write methods with the types its stubs leave out (they return whether the server said success)."""

    def add(self, dn: str, object_class: list[str], attributes: dict[str, Any]) -> bool: ...
    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[Any]]]]) -> bool: ...
    def delete(self, dn: str) -> bool: ...


def _writes(connection: Connection) -> _Writes:
    return cast(_Writes, connection)


def initial_password(min_length: int, complex_required: bool, avoid: tuple[str, ...] = ()) -> str:
    """A random password the domain policy accepts: long enough, all four character classes when complexity is on,
    and none of the account's name parts of three or more characters (AD's complexity rule rejects those)."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-.:=@_?")
    length = max(24, min_length)
    tokens = {part.lower() for name in avoid for part in _name_tokens(name) if len(part) >= 3}
    while True:
        pool = "".join(classes)
        chars = [secrets.choice(group) for group in classes] if complex_required else []
        chars += [secrets.choice(pool) for _ in range(length - len(chars))]
        # Fisher-Yates with the secrets RNG keeps the mandatory characters at random positions.
        for index in range(len(chars) - 1, 0, -1):
            other = secrets.randbelow(index + 1)
            chars[index], chars[other] = chars[other], chars[index]
        password = "".join(chars)
        if not any(token in password.lower() for token in tokens):
            return password


def _name_tokens(name: str) -> list[str]:
    token, tokens = "", []
    for char in name:
        if char in ",.-_ #\t":
            tokens.append(token)
            token = ""
        else:
            token += char
    return [*tokens, token]


class LdapDirectory:
    """One AD domain over LDAPS. Thread-safe (one lock around both connections)."""

    def __init__(self, access: DirectoryAccess) -> None:
        self.access = access
        self.base_dn = access.base_dn
        self._lock = threading.RLock()
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(access.ca_path), version=ssl.PROTOCOL_TLS_CLIENT)
        self._server = Server(access.host, port=access.port, use_ssl=True, tls=tls, get_info=NONE, connect_timeout=5)
        self._agent: Connection | None = None
        self._admin: Connection | None = None
        self._policy: tuple[int, bool] | None = None

    # -- connections ------------------------------------------------------------------------------------------
    def _connection(self, agent: bool) -> Connection:
        current = self._agent if agent else self._admin
        if current is not None and current.bound and not current.closed:
            return current
        user, password = (
            (self.access.agent_user, self.access.agent_password)
            if agent
            else (self.access.admin_user, self.access.admin_password)
        )
        connection = Connection(
            self._server, user=user, password=password, raise_exceptions=False, receive_timeout=15, auto_referrals=False
        )
        if not connection.bind():
            raise errors.unavailable(RuntimeError(f"bind as {user} failed: {connection.result.get('message')}"))
        if agent:
            self._agent = connection
        else:
            self._admin = connection
        return connection

    def _call(self, agent: bool, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` on a bound connection, reconnecting once if the server dropped it."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return operation(self._connection(agent))
                except LDAPException as error:
                    self._drop(agent)
                    if attempt == 2:
                        raise errors.unavailable(error) from error
            raise AssertionError("unreachable")

    def _drop(self, agent: bool) -> None:
        connection = self._agent if agent else self._admin
        if connection is not None:
            with contextlib.suppress(LDAPException):
                connection.unbind()
        if agent:
            self._agent = None
        else:
            self._admin = None

    def close(self) -> None:
        with self._lock:
            self._drop(True)
            self._drop(False)

    # -- reads ------------------------------------------------------------------------------------------------
    def _search(
        self, search_filter: str, *, base: str | None = None, scope: Scope = SUBTREE, agent: bool = False
    ) -> list[dict[str, Any]]:
        def run(connection: Connection) -> list[dict[str, Any]]:
            ok = connection.search(
                base or self.base_dn, search_filter, search_scope=scope, attributes=READ_ATTRIBUTES, paged_size=500
            )
            if not ok and connection.result.get("description") not in ("success", "noSuchObject"):
                raise errors.from_ldap_result(connection.result, dn=base or self.base_dn)
            entries: list[dict[str, Any]] = [
                {"dn": item["dn"], "attributes": dict(item["attributes"])}
                for item in connection.response or []
                if item.get("type") == "searchResEntry"
            ]
            cookie = connection.result.get("controls", {}).get("1.2.840.113556.1.4.319", {}).get("value", {})
            while cookie and cookie.get("cookie"):
                connection.search(
                    base or self.base_dn,
                    search_filter,
                    search_scope=scope,
                    attributes=READ_ATTRIBUTES,
                    paged_size=500,
                    paged_cookie=cookie["cookie"],
                )
                entries += [
                    {"dn": item["dn"], "attributes": dict(item["attributes"])}
                    for item in connection.response or []
                    if item.get("type") == "searchResEntry"
                ]
                cookie = connection.result.get("controls", {}).get("1.2.840.113556.1.4.319", {}).get("value", {})
            return entries

        return self._call(agent, run)

    def _to_user(self, entry: dict[str, Any], managers: dict[str, str | None] | None = None) -> dict[str, Any]:
        attributes = entry["attributes"]
        uac = int(_first(attributes.get("userAccountControl")) or UF_NORMAL_ACCOUNT)
        user: dict[str, Any] = {
            "id": guid_string(attributes["objectGUID"]),
            "accountEnabled": not uac & UF_ACCOUNTDISABLE,
            "distinguishedName": entry["dn"],
            "proxyAddresses": [],
            **graph_values(attributes),
            "_usn": int(_first(attributes.get("uSNChanged")) or 0),
        }
        created = str(_first(attributes.get("whenCreated")) or "")
        if len(created) >= 14:  # generalized time, e.g. 20261129194530.0Z
            user["createdDateTime"] = (
                f"{created[0:4]}-{created[4:6]}-{created[6:8]}T{created[8:10]}:{created[10:12]}:{created[12:14]}Z"
            )
        manager_dn = _first(attributes.get("manager"))
        if manager_dn:
            known = (managers or {}).get(str(manager_dn).lower())
            user["manager"] = known if known is not None else self._employee_id_of(str(manager_dn))
            user["managerDistinguishedName"] = str(manager_dn)
        else:
            user["manager"] = None
        return user

    def _employee_id_of(self, dn: str) -> str | None:
        found = self._search("(objectClass=user)", base=dn, scope=BASE)
        return str(_first(found[0]["attributes"].get("employeeID")) or "") or None if found else None

    def _users(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        managers = {
            entry["dn"].lower(): str(_first(entry["attributes"].get("employeeID")) or "") or None for entry in entries
        }
        return [self._to_user(entry, managers) for entry in entries]

    def find_by_employee_id(self, employee_id: str) -> dict[str, Any] | None:
        found = self._search(f"(&{PERSONS}(employeeID={escape_filter_chars(employee_id)}))", agent=True)
        return self._to_user(found[0]) if found else None

    def find_by_user_principal_name(self, upn: str) -> dict[str, Any] | None:
        found = self._search(f"(&{PERSONS}(userPrincipalName={escape_filter_chars(upn)}))", agent=True)
        return self._to_user(found[0]) if found else None

    def get(self, object_id: str) -> dict[str, Any] | None:
        found = self._search(f"(objectGUID={guid_filter_value(object_id)})")
        return self._to_user(found[0]) if found else None

    def users(self) -> list[dict[str, Any]]:
        return self._users(self._search(PERSONS))

    def name_in_use(self, container: str, common_name: str) -> bool:
        found = self._search(f"(cn={escape_filter_chars(common_name)})", base=container, scope=LEVEL, agent=True)
        return bool(found)

    def changed_since(self, usn: int, scope: str) -> tuple[list[dict[str, Any]], int]:
        found = self._search(f"(&{PERSONS}(uSNChanged>={usn + 1}))", base=scope)
        users = self._users(found)
        return users, max([usn, *(int(user["_usn"]) for user in users)])

    def password_policy(self) -> tuple[int, bool]:
        """(minPwdLength, complexity required) of the domain, read once."""
        if self._policy is None:

            def read(connection: Connection) -> tuple[int, bool]:
                connection.search(self.base_dn, "(objectClass=*)", BASE, attributes=["minPwdLength", "pwdProperties"])
                attributes = connection.response[0]["attributes"] if connection.response else {}
                length = int(_first(attributes.get("minPwdLength")) or 7)
                properties = int(_first(attributes.get("pwdProperties")) or 0)
                return length, bool(properties & DOMAIN_PASSWORD_COMPLEX)

            self._policy = self._call(False, read)
        return self._policy

    # -- writes -----------------------------------------------------------------------------------------------
    def create(
        self,
        container: str,
        common_name: str,
        props: dict[str, Any],
        *,
        password: str | None,
        as_agent: bool,
    ) -> dict[str, Any]:
        dn = f"CN={escape_rdn(common_name)},{container}"
        values = ldap_values(props)
        enabled = props.get("accountEnabled", True) is not False
        if password is None:
            length, complex_required = self.password_policy()
            password = initial_password(length, complex_required, tuple(str(v) for v in values.values()))
        values["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
        values["userAccountControl"] = str(UF_NORMAL_ACCOUNT | (0 if enabled else UF_ACCOUNTDISABLE))

        def add(connection: Connection) -> None:
            if not _writes(connection).add(dn, USER_CLASSES, values):
                raise errors.from_ldap_result(connection.result, dn=dn)

        self._call(as_agent, add)
        created = self._search("(objectClass=user)", base=dn, scope=BASE)
        return self._to_user(created[0])

    def update(self, user: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        dn = str(user["distinguishedName"])
        modifications: dict[str, list[tuple[str, list[Any]]]] = {}
        for ldap_name, value in ldap_values(changes).items():
            modifications[ldap_name] = [(MODIFY_REPLACE, value if isinstance(value, list) else [value])]
        if "accountEnabled" in changes:
            current = self._search("(objectClass=user)", base=dn, scope=BASE, agent=True)
            uac = int(_first(current[0]["attributes"].get("userAccountControl")) or UF_NORMAL_ACCOUNT) if current else 0
            uac = uac & ~UF_ACCOUNTDISABLE if changes["accountEnabled"] else uac | UF_ACCOUNTDISABLE
            modifications["userAccountControl"] = [(MODIFY_REPLACE, [str(uac)])]
        if modifications:

            def modify(connection: Connection) -> None:
                if not _writes(connection).modify(dn, modifications):
                    raise errors.from_ldap_result(connection.result, dn=dn)

            self._call(True, modify)
        updated = self._search("(objectClass=user)", base=dn, scope=BASE)
        return self._to_user(updated[0]) if updated else user

    def set_manager(self, user: dict[str, Any], manager: dict[str, Any] | None, *, as_agent: bool) -> dict[str, Any]:
        dn = str(user["distinguishedName"])
        operation: str = MODIFY_REPLACE if manager is not None else MODIFY_DELETE
        change: list[tuple[str, list[Any]]] = [(operation, [manager["distinguishedName"]] if manager else [])]

        def modify(connection: Connection) -> None:
            ok = _writes(connection).modify(dn, {"manager": change})
            if not ok and not (manager is None and connection.result.get("description") == "noSuchAttribute"):
                raise errors.from_ldap_result(connection.result, dn=dn)

        self._call(as_agent, modify)
        updated = self._search("(objectClass=user)", base=dn, scope=BASE)
        return self._to_user(updated[0]) if updated else user

    def reset(self) -> None:
        """Delete every person account (the template's OUs and the agent's account stay)."""
        for entry in self._search(PERSONS):

            def delete(connection: Connection, dn: str = entry["dn"]) -> None:
                if not _writes(connection).delete(dn) and connection.result.get("description") != "noSuchObject":
                    raise errors.from_ldap_result(connection.result, dn=dn)

            self._call(False, delete)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
