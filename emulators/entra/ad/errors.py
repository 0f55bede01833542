"""What the provisioning log says when Active Directory refuses a write.

The real agent reports an AD failure as an error code plus a reason that quotes the LDAP result, e.g. (Microsoft
Learn, "Troubleshoot insufficient access rights error"): code
``HybridSynchronizationActiveDirectoryInsufficientAccessRights``, reason ``InsufficientAccessRights-SecErr: The
user has insufficient access rights.. Access is denied. ...``. Both backends raise :class:`DirectoryError` built
here: the Samba backend from the LDAP result the directory returned, the memory backend from its own model of the
same rule, so the pipeline and the product see one vocabulary. The table and its sources are in the emulator
README ("Provisioning log error codes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Documented: Microsoft 365 troubleshooting, "Problem with attribute and scoping filter" (Workday to AD).
UPN_NOT_UNIQUE = "HybridSynchronizationActiveDirectoryUserPrincipalNameNotUnique"
#: Documented: Microsoft Learn, "Troubleshoot insufficient access rights error".
INSUFFICIENT_ACCESS = "HybridSynchronizationActiveDirectoryInsufficientAccessRights"
#: Documented: Microsoft Learn, "Troubleshoot HR user update issues" (attribute missing from the AD schema).
CANNOT_FIND_ATTRIBUTE = "HybridSynchronizationActiveDirectoryCannotFindAttribute"
#: The rest follow the documented pattern ``HybridSynchronizationActiveDirectory`` + the LDAP result, but Microsoft
#: does not publish them: they are this emulator's, and the reason always carries the directory's own text.
SAM_NOT_UNIQUE = "HybridSynchronizationActiveDirectorySamAccountNameNotUnique"
ENTRY_EXISTS = "HybridSynchronizationActiveDirectoryEntryAlreadyExists"
INVALID_PARAMETER = "HybridSynchronizationActiveDirectoryInvalidParameter"
NO_SUCH_OBJECT = "HybridSynchronizationActiveDirectoryNoSuchObject"
CONSTRAINT_VIOLATION = "HybridSynchronizationActiveDirectoryConstraintViolation"
INVALID_ACCOUNT_NAME = "HybridSynchronizationActiveDirectoryInvalidAccountName"
SERVER_DOWN = "HybridSynchronizationActiveDirectoryServerDown"
MISSING_ANCHOR = "SourceAnchorMissing"

#: sAMAccountName's limit: Windows refuses longer names (ERROR_INVALID_ACCOUNT_NAME); Samba does not, so the
#: emulated agent enforces it before anything is sent.
SAM_ACCOUNT_NAME_MAX = 20

_UPN_REASON = (
    "The operation failed because UPN value provided for addition/modification is not unique forest-wide. "
    "Error Details: CONSTRAINT_ATT_TYPE - userPrincipalName."
)
_ACCESS_REASON = (
    "InsufficientAccessRights-SecErr: The user has insufficient access rights.. Access is denied. "
    "\nError Details: Problem 4003 - INSUFF_ACCESS_RIGHTS."
)


@dataclass
class DirectoryError(Exception):
    """A write AD refused: ``code`` and ``reason`` go to the provisioning log as errorInformation."""

    code: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.code)


class DirectoryUnavailable(RuntimeError):
    """The domain controller could not be reached (the write's outcome is unknown, nothing was changed)."""


def _result_name(description: str) -> str:
    """``entryAlreadyExists`` -> ``EntryAlreadyExists`` (the .NET ResultCode spelling the agent uses)."""
    return description[:1].upper() + description[1:] if description else "Other"


def _ldap_text(result: dict[str, Any]) -> str:
    return f"{_result_name(str(result.get('description', '')))} ({result.get('result')}): {result.get('message', '')}"


def from_ldap_result(result: dict[str, Any], *, dn: str = "") -> DirectoryError:
    """Translate an ldap3 result dict (``result``, ``description``, ``message``) into a provisioning failure."""
    description = str(result.get("description", ""))
    message = str(result.get("message", ""))
    lowered = message.lower()
    text = _ldap_text(result)
    if description == "constraintViolation" and "userprincipalname" in lowered:
        return DirectoryError(UPN_NOT_UNIQUE, f"{_UPN_REASON} ({text})", {"ConflictingAttribute": "userPrincipalName"})
    if description == "entryAlreadyExists" and "samaccountname" in lowered:
        value = _quoted(message)
        return DirectoryError(
            SAM_NOT_UNIQUE,
            f"The value of sAMAccountName '{value}' is already used by another object in Active Directory. ({text})",
            {"ConflictingAttribute": "sAMAccountName"},
        )
    if description == "entryAlreadyExists":
        return DirectoryError(
            ENTRY_EXISTS,
            f"EntryAlreadyExists-UpdErr: An object named '{dn}' already exists in this container. ({text})",
            {"ConflictingAttribute": "cn"},
        )
    if description == "insufficientAccessRights":
        return DirectoryError(INSUFFICIENT_ACCESS, f"{_ACCESS_REASON} ({text})")
    if description in {"noSuchAttribute", "undefinedAttributeType"}:
        return DirectoryError(
            CANNOT_FIND_ATTRIBUTE, f"The attribute name was not found in the Active Directory schema. ({text})"
        )
    if description == "invalidAttributeSyntax":
        return DirectoryError(
            INVALID_PARAMETER,
            "InvalidAttributeSyntax-LdapErr: The syntax is invalid. The parameter is incorrect. Error in attribute "
            f"conversion operation, data 0, v3839 ({text})",
        )
    if description == "noSuchObject":
        return DirectoryError(
            NO_SUCH_OBJECT,
            f"NoSuchObject-NameErr: the container of '{dn}' does not exist in Active Directory; check the default "
            f"OU for new users. ({text})",
        )
    if description == "constraintViolation":
        return DirectoryError(CONSTRAINT_VIOLATION, f"ConstraintViolation-AtrErr: {text}")
    name = _result_name(description)
    return DirectoryError(f"HybridSynchronizationActiveDirectory{name}", f"{name}-LdapErr: {text}")


def _quoted(message: str) -> str:
    match = re.search(r"'([^']*)'", message)
    return match.group(1) if match else ""


# -- the same failures, built by the memory backend's model of AD ----------------------------------------------
def upn_not_unique(value: str) -> DirectoryError:
    return from_ldap_result(
        {
            "result": 19,
            "description": "constraintViolation",
            "message": f"0000202F: samldb: userPrincipalName '{value}' is already in use",
        }
    )


def sam_not_unique(value: str) -> DirectoryError:
    return from_ldap_result(
        {
            "result": 68,
            "description": "entryAlreadyExists",
            "message": f"00002071: samldb: samAccountName '{value}' already in use!",
        }
    )


def entry_exists(dn: str) -> DirectoryError:
    return from_ldap_result(
        {"result": 68, "description": "entryAlreadyExists", "message": f"Entry {dn} already exists"}, dn=dn
    )


def no_such_parent(dn: str) -> DirectoryError:
    return from_ldap_result(
        {
            "result": 32,
            "description": "noSuchObject",
            "message": f"00002030: objectclass: Cannot add {dn}, parent does not exist!",
        },
        dn=dn,
    )


def insufficient_access(dn: str) -> DirectoryError:
    return from_ldap_result(
        {
            "result": 50,
            "description": "insufficientAccessRights",
            "message": f"00002098: Object {dn} has no write property access",
        },
        dn=dn,
    )


def empty_values(attributes: list[str]) -> DirectoryError:
    return from_ldap_result(
        {
            "result": 21,
            "description": "invalidAttributeSyntax",
            "message": f"empty value for {', '.join(attributes)}",
        }
    )


def sam_too_long(value: str) -> DirectoryError:
    return DirectoryError(
        INVALID_ACCOUNT_NAME,
        f"The sAMAccountName '{value}' has {len(value)} characters; Active Directory allows at most "
        f"{SAM_ACCOUNT_NAME_MAX} (ERROR_INVALID_ACCOUNT_NAME 0x523: The name provided is not a properly formed "
        "account name.). Nothing was written.",
        {"ConflictingAttribute": "sAMAccountName"},
    )


def unavailable(error: BaseException) -> DirectoryError:
    return DirectoryError(SERVER_DOWN, f"ServerDown-LdapErr: the domain controller could not be reached ({error})")
