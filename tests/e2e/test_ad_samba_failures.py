"""When Samba is missing or cannot start, the AD tier says why and moves on; nothing waits forever."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from emulators.entra.ad import samba
from emulators.entra.ad.runner import template_root
from emulators.entra.ad.samba import SambaDomainController, SambaUnavailable, ensure_template
from tests.fixtures.samba import samba_skip_reason


def test_a_missing_samba_is_named_with_its_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samba.shutil, "which", lambda *_args, **_kwargs: None)
    with pytest.raises(SambaUnavailable) as caught:
        samba.require_samba()
    assert "samba-tool" in str(caught.value) and samba.INSTALL_HINT in str(caught.value)
    reason = samba_skip_reason()
    assert reason is not None and reason.startswith("AD tier skipped") and "apt-get install" in reason


@pytest.mark.ad
def test_a_directory_that_cannot_start_reports_samba_s_own_words_quickly(tmp_path: Path) -> None:
    reason = samba_skip_reason()
    if reason:
        pytest.skip(reason)
    broken = tmp_path / "template"
    shutil.copytree(ensure_template(template_root(), "contoso.com"), broken, symlinks=True)
    conf = broken / "dc" / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace("server role = active directory domain controller", "server role = x"))
    started = time.monotonic()
    with pytest.raises(SambaUnavailable) as caught:
        SambaDomainController(broken, tmp_path / "run", "contoso.com").start(timeout=20)
    assert "samba exited" in str(caught.value) or "did not answer" in str(caught.value)
    assert time.monotonic() - started < 70
