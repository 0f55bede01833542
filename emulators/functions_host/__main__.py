"""CLI: `python -m emulators.functions_host --app function_app --port 7071 --state-dir DIR --time-scale N`.

Serves the app found in the current directory (the app root: its host.json is read from there) until
SIGTERM or Ctrl-C, printing its URLs and key first.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from .host import DEFAULT_FUNCTION_KEY, FunctionsHost


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulators.functions_host", description=__doc__)
    parser.add_argument("--app", default="function_app", help="module defining the DFApp (default function_app)")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--state-dir", required=True, help="SQLite task hub and host.log live here")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="orchestrator clock speed: N makes a 60-minute timer fire after 60/N minutes",
    )
    parser.add_argument(
        "--function-key",
        default=None,
        help=f"function key (else $FUNCTION_KEY, else '{DEFAULT_FUNCTION_KEY}')",
    )
    parser.add_argument("--master-key", default=None, help="admin key (else $FUNCTIONS_MASTER_KEY)")
    parser.add_argument("--strict", action="store_true", help="also fail orchestrations whose inputs change")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    host = FunctionsHost(
        args.app,
        args.state_dir,
        port=args.port,
        time_scale=args.time_scale,
        function_key=args.function_key,
        master_key=args.master_key,
        strict=args.strict,
        autorun=True,
        log_to_stderr=True,
    )

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        host.stop_serving()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    host.start()
    assert host.app is not None
    print(f"Functions host for '{args.app}' listening on {host.base_url}", flush=True)
    for function in host.app.http:
        print(
            f"  {function.name}: [{','.join(sorted(function.methods or {'ALL'}))}] "
            f"{host.base_url}/{host.app.route_prefix}/{function.route.template} ({function.auth_level})",
            flush=True,
        )
    print(f"  durable management API: {host.base_url}/runtime/webhooks/durabletask/instances", flush=True)
    print(f"FUNCTIONS_HOST_URL={host.base_url}", flush=True)
    print(f"FUNCTION_KEY={host.function_key}", flush=True)
    print(f"STATE_DIR={os.path.abspath(args.state_dir)}", flush=True)
    try:
        host.serve_forever()
    finally:
        host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
