"""CLI: ``python -m emulators.entra --port 8443 --proxy-port 8888 --state-dir DIR``.

Prints the environment to use as KEY=value lines, then serves until SIGTERM or SIGINT. Export the lines
unchanged (``set -a; . file; set +a``): an app in its default managed-identity mode then works as is. The
emulated app registration's credentials are printed as EMULATOR_APP_CLIENT_ID and EMULATOR_APP_CLIENT_SECRET,
never as AZURE_CLIENT_ID/AZURE_CLIENT_SECRET (those would make the app ask for a user-assigned identity).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from emulators.entra.testing import EntraEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.entra", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port for every emulated host (0: any free)")
    parser.add_argument("--proxy-port", type=int, default=8888, help="CONNECT proxy port (0: any free)")
    parser.add_argument("--state-dir", type=Path, required=True, help="where state, CA and keys persist")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator = EntraEmulator(args.state_dir, port=args.port, proxy_port=args.proxy_port).start()
    try:
        for key, value in emulator.env.items():
            print(f"{key}={value}")
        sys.stdout.flush()
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
