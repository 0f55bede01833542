"""``make ad-shell``: a Samba AD domain controller on loopback to look at with ldapsearch, until Ctrl-C.

    python -m emulators.entra.ad [--state-dir .state/ad-shell]

Starts a copy of the provisioned template (the same directory the AD tier and ``make demo AD=samba`` use), prints
its LDAPS URL and an ldapsearch command line, and stops samba by its pid on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from emulators.entra.ad.runner import DEFAULT_DOMAIN, ldapsearch_hint, open_directory
from emulators.entra.ad.samba import SambaUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.entra.ad", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".state/ad-shell"), help="where the copy runs")
    parser.add_argument("--domain", default=DEFAULT_DOMAIN)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with open_directory("samba", args.state_dir.resolve(), args.domain) as running:
            assert running.controller is not None
            access = running.controller.access
            print(f"Samba AD DC for {args.domain} on {access.url} (base {access.base_dn})")
            print(f"Its log: {running.controller.log_path}")
            print(f"Users are created in OU=Employees,{access.base_dn}; OU=Restricted is closed to the agent.")
            print("Inspect it with (ldap-utils):")
            print(f"  {ldapsearch_hint(running.controller)}")
            print("Ctrl-C stops it.", flush=True)
            stop.wait()
    except SambaUnavailable as error:
        print(f"cannot start the directory: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
