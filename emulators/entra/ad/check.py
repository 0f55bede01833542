"""``python -m emulators.entra.ad.check``: one line saying whether ``make test`` will run the AD tier, and why not."""

from __future__ import annotations

from emulators.entra.ad.samba import INSTALL_HINT, missing_tools


def main() -> int:
    missing = missing_tools()
    if missing:
        print(f"AD tier: SKIPPED - Samba AD DC is not installed ({', '.join(missing)} missing).")
        print(f"         Install it (Debian, as root): {INSTALL_HINT}")
    else:
        print("AD tier: Samba AD DC found; tests marked 'ad' run against a real directory over LDAPS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
