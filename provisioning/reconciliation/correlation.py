"""Go-live correlation: which existing account without an employeeId may belong to which HR person.

Accounts created before this product carry no `employeeId`, so nothing links them to HR. Evidence that an account
is a person's: its UPN or mail is a name the naming policy generates for that person (`upn`), or its given name and
surname match the person's and so does its department (`name+department`). A matching name alone (`name`) only adds
weight to other evidence. Each piece has a weight; the confidence is 1 - Π(1 - weight), so independent evidence
adds up and no amount of it reaches certainty. Any `upn` or `name+department` evidence makes a *case* for a person to
confirm or reject: nothing weaker than an employeeId ever links an account by itself. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from provisioning import naming
from provisioning.reconciliation.population import HrPerson

__all__ = ["WEIGHTS", "Case", "CorrelationIndex", "case_id", "confidence"]

WEIGHTS: Final = {"upn": 0.6, "name+department": 0.6, "name": 0.3}
RAISES_A_CASE: Final = frozenset({"upn", "name+department"})
GENERATED_NAMES_CHECKED: Final = 4
"""How many generated names (the patterns before the numeric suffix) count as a person's expected names."""
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def case_id(employee_id: str, account_id: str) -> str:
    """A case's id: the same pair gets the same id in every run, so a decision outlives the run that asked."""
    digest = hashlib.sha256(f"{employee_id}\n{account_id.lower()}".encode()).hexdigest()[:12]
    return f"{employee_id}.{digest}"


def confidence(evidence: Iterable[str]) -> float:
    remaining = 1.0
    for kind in evidence:
        remaining *= 1.0 - WEIGHTS.get(kind, 0.0)
    return round(1.0 - remaining, 2)


@dataclass(frozen=True, slots=True)
class Case:
    """One candidate pairing of an HR person with an existing account, and why."""

    employee_id: str
    account: Mapping[str, Any]
    evidence: tuple[tuple[str, str], ...]
    """(kind, what matched) pairs; the detail names the attribute, never the value."""

    @property
    def case_id(self) -> str:
        return case_id(self.employee_id, str(self.account.get("id")))

    @property
    def confidence(self) -> float:
        return confidence(kind for kind, _ in self.evidence)

    def to_json(self) -> dict[str, Any]:
        account = self.account
        return {
            "caseId": self.case_id,
            "account": {
                key: account.get(key)
                for key in ("id", "userPrincipalName", "mail", "displayName", "department", "accountEnabled")
            },
            "evidence": [{"kind": kind, "detail": detail} for kind, detail in self.evidence],
            "confidence": self.confidence,
        }


def _name_key(text: object, mode: naming.Transliteration) -> str:
    return _NOT_ALNUM.sub("", naming.transliterate(str(text or ""), mode).lower())


def _local_part(address: object) -> str | None:
    if not isinstance(address, str) or "@" not in address:
        return None
    return address.rsplit("@", 1)[0].lower() or None


class CorrelationIndex:
    """The accounts without an employeeId, indexed by what evidence compares, so each person is a few lookups."""

    def __init__(self, accounts: Iterable[Mapping[str, Any]], policy: naming.NamePolicy) -> None:
        self._policy = policy
        self._by_local: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        self._by_name: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
        mode = policy.transliteration
        for account in accounts:
            locals_seen = {
                _local_part(address)
                for address in (
                    account.get("userPrincipalName"),
                    account.get("mail"),
                    *(
                        proxy.split(":", 1)[1]
                        for proxy in account.get("proxyAddresses") or ()
                        if isinstance(proxy, str) and proxy.lower().startswith("smtp:")
                    ),
                )
            }
            for local in locals_seen - {None}:
                assert local is not None
                self._by_local[local].append(account)
            key = (_name_key(account.get("givenName"), mode), _name_key(account.get("surname"), mode))
            if all(key):
                self._by_name[key].append(account)

    def cases(self, person: HrPerson, *, rejected: frozenset[str] = frozenset()) -> list[Case]:
        """The cases for `person`, strongest first; pairs in `rejected` (case ids) are left out."""
        employee = person.employee
        mode = self._policy.transliteration
        evidence: dict[str, dict[str, str]] = defaultdict(dict)
        accounts: dict[str, Mapping[str, Any]] = {}
        generated = naming.candidates(
            employee.get("givenName"),
            employee.get("familyName"),
            self._policy,
            preferred_given_name=employee.get("preferredGivenName"),
            middle_name=employee.get("middleName"),
        )
        for candidate in islice(generated, GENERATED_NAMES_CHECKED):
            for account in self._by_local.get(candidate.mail_nickname.lower(), ()):
                accounts[str(account["id"])] = account
                evidence[str(account["id"])].setdefault("upn", "userPrincipalName or mail is a generated name")
        family = _name_key(employee.get("familyName"), mode)
        department = str(employee.get("department") or "").strip().casefold()
        for given in {employee.get("givenName"), employee.get("preferredGivenName")} - {None}:
            for account in self._by_name.get((_name_key(given, mode), family), ()):
                account_id = str(account["id"])
                accounts[account_id] = account
                same_department = department and str(account.get("department") or "").strip().casefold() == department
                if same_department:
                    evidence[account_id]["name+department"] = "given name, surname and department"
                else:
                    evidence[account_id].setdefault("name", "given name and surname")
        found = []
        for account_id, kinds in evidence.items():
            if not RAISES_A_CASE & set(kinds):
                continue
            if "name+department" in kinds:
                kinds.pop("name", None)
            case = Case(person.employee_id, accounts[account_id], tuple(sorted(kinds.items())))
            if case.case_id not in rejected:
                found.append(case)
        found.sort(key=lambda case: (-case.confidence, str(case.account.get("id"))))
        return found
