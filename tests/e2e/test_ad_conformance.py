"""Both AD backends against the same rules: the memory model must behave like the real directory.

Each test runs once on ``memory`` and once on ``samba`` (skipped, with the install command, where Samba is missing);
a rule the memory model gets wrong shows up as the memory case failing where the Samba case passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.entra.ad import errors
from emulators.entra.ad.base import ActiveDirectory
from emulators.entra.ad.ldap import LdapDirectory, initial_password
from emulators.entra.ad.memory import MemoryDirectory
from emulators.entra.state import EmulatorState

BASE = "DC=contoso,DC=com"
EMPLOYEES = f"OU=Employees,{BASE}"
USERS = f"CN=Users,{BASE}"


@pytest.fixture(params=["memory", pytest.param("samba", marks=pytest.mark.ad)])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ActiveDirectory]:
    if request.param == "memory":
        yield MemoryDirectory(EmulatorState(tmp_path), BASE)
        return
    ldap = LdapDirectory(request.getfixturevalue("samba_controller").access)
    ldap.reset()
    try:
        yield ldap
    finally:
        ldap.reset()
        ldap.close()


def person(employee_id: str, upn: str, sam: str, **extra: Any) -> dict[str, Any]:
    return {"employeeId": employee_id, "userPrincipalName": upn, "onPremisesSamAccountName": sam, **extra}


def refused(action: Any) -> errors.DirectoryError:
    with pytest.raises(errors.DirectoryError) as caught:
        action()
    return caught.value


def test_upn_and_sam_are_unique_across_containers(directory: ActiveDirectory) -> None:
    directory.create(USERS, "Old Zoe", person("X1", "zoe@contoso.com", "oldzoe"), password=None, as_agent=False)
    upn = refused(
        lambda: directory.create(EMPLOYEES, "Zoe", person("E1", "zoe@contoso.com", "zoe"), password=None, as_agent=True)
    )
    sam = refused(
        lambda: directory.create(
            EMPLOYEES, "Zoe", person("E1", "z@contoso.com", "oldzoe"), password=None, as_agent=True
        )
    )
    assert (upn.code, sam.code) == (errors.UPN_NOT_UNIQUE, errors.SAM_NOT_UNIQUE)
    assert directory.find_by_employee_id("E1") is None


def test_one_name_per_container(directory: ActiveDirectory) -> None:
    directory.create(EMPLOYEES, "Fay Twin", person("E2", "fay@contoso.com", "fay"), password=None, as_agent=True)
    assert directory.name_in_use(EMPLOYEES, "Fay Twin")
    clash = refused(
        lambda: directory.create(
            EMPLOYEES, "Fay Twin", person("E3", "fay2@contoso.com", "fay2"), password=None, as_agent=True
        )
    )
    assert clash.code == errors.ENTRY_EXISTS
    directory.create(USERS, "Fay Twin", person("E3", "fay2@contoso.com", "fay2"), password=None, as_agent=True)


def test_missing_container_restricted_ou_and_empty_values(directory: ActiveDirectory) -> None:
    missing = refused(
        lambda: directory.create(
            f"OU=Nowhere,{BASE}", "A", person("E4", "a@contoso.com", "a"), password=None, as_agent=True
        )
    )
    restricted = refused(
        lambda: directory.create(
            f"OU=Restricted,{BASE}", "B", person("E5", "b@contoso.com", "b"), password=None, as_agent=True
        )
    )
    empty = refused(
        lambda: directory.create(
            EMPLOYEES, "C", person("E6", "c@contoso.com", "c", jobTitle=""), password=None, as_agent=True
        )
    )
    assert (missing.code, restricted.code, empty.code) == (
        errors.NO_SUCH_OBJECT,
        errors.INSUFFICIENT_ACCESS,
        errors.INVALID_PARAMETER,
    )


def test_updates_manager_and_the_change_feed(directory: ActiveDirectory) -> None:
    boss = directory.create(EMPLOYEES, "Boss", person("M1", "boss@contoso.com", "boss"), password=None, as_agent=False)
    _, start = directory.changed_since(0, EMPLOYEES)
    user = directory.create(
        EMPLOYEES, "Eve", person("E7", "eve@contoso.com", "eve", jobTitle="Analyst"), password=None, as_agent=True
    )
    hidden = directory.create(
        USERS, "Hidden", person("A1", "hidden@contoso.com", "hidden"), password=None, as_agent=False
    )
    user = directory.set_manager(user, boss, as_agent=True)
    user = directory.update(user, {"jobTitle": "Lead", "accountEnabled": False})
    read = directory.get(user["id"])
    assert read is not None
    assert (read["jobTitle"], read["accountEnabled"], read["manager"]) == ("Lead", False, "M1")
    changed, usn = directory.changed_since(start, EMPLOYEES)
    assert [u["employeeId"] for u in changed] == ["E7"] and usn > start
    assert hidden["id"] in {u["id"] for u in directory.users()}  # in AD, but outside the sync scope
    assert directory.changed_since(usn, EMPLOYEES)[0] == []


def test_initial_passwords_meet_the_policy_and_avoid_the_name() -> None:
    for _ in range(200):
        password = initial_password(7, True, ("Zoe O'Brien-Müller", "zoe.obrien-mulle"))
        assert len(password) >= 24
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
        assert "zoe" not in password.lower() and "obrien" not in password.lower()
    assert len(initial_password(40, True)) == 40
