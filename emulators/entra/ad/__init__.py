"""On-premises Active Directory behind the emulated provisioning agent: ``memory`` (default) or ``samba``.

``memory`` keeps users in the emulator's state with AD's rules modelled in Python; ``samba`` writes them over LDAPS
to a real Samba AD domain controller (``emulators.entra.ad.samba`` provisions and runs one on loopback). Both raise
the same :class:`DirectoryError` codes, so the pipeline, Connect sync and the product cannot tell them apart except
by what the directory itself enforces.
"""

from emulators.entra.ad.base import RESTRICTED_OU, TARGET_OU, UNSYNCED_CONTAINER, ActiveDirectory, domain_dn
from emulators.entra.ad.errors import DirectoryError

__all__ = [
    "RESTRICTED_OU",
    "TARGET_OU",
    "UNSYNCED_CONTAINER",
    "ActiveDirectory",
    "DirectoryError",
    "domain_dn",
]
