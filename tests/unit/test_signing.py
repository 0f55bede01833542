"""Request signing, scheme v1: the exact string to sign, what it binds, and every way a request is refused."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from provisioning.intake import signing
from provisioning.intake.signing import SignatureError, canonical_path, canonical_query, sign, string_to_sign, verify

REPO = Path(__file__).resolve().parents[2]
SECRET = "example-signing-secret"
BODY = (
    b'{"eventId":"wd-2026-000300","type":"termination","effectiveDate":"2026-12-31","employee":{"employeeId":"E10042"}}'
)
URL = "https://func-hr.azurewebsites.net/api/hr-events"
NOW = 1_767_225_600


def check(method: str, url: str, timestamp: str | None, signature: str | None, body: bytes = BODY) -> None:
    verify(
        SECRET,
        method=method,
        url=url,
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=NOW,
        tolerance_seconds=300,
    )


def test_the_string_to_sign_is_six_lines() -> None:
    text = string_to_sign("post", "/api/hr-events", "", "1767225600", BODY)
    assert text == (
        "v1\nPOST\n/api/hr-events\n\n1767225600\nfeb85ca466513cdd53575a9a5a3e2c77f87bd20a470d2ad6530a0ab97d18dafd"
    )
    digest = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, "POST", URL, "1767225600", BODY) == f"v1={digest}"


def test_the_worked_example_in_the_security_guide_is_what_the_code_computes() -> None:
    guide = (REPO / "docs/security.md").read_text(encoding="utf-8")
    assert "example-signing-secret" in guide and "1767225600" in guide
    assert sign(SECRET, "POST", URL, "1767225600", BODY) in guide
    assert hashlib.sha256(BODY).hexdigest() in guide
    approve = "https://func-hr.azurewebsites.net/api/hr-events/hr-wd-2026-000300"
    assert sign(SECRET, "DELETE", approve, "1767225600") in guide


def test_query_parameters_are_sorted_encoded_and_the_function_key_left_out() -> None:
    assert canonical_query("code=k3y&b=2&a=x%20y&a=1") == "a=1&a=x%20y&b=2"
    assert canonical_query("") == ""
    assert canonical_query([("é", "ü/?")]) == "%C3%A9=%C3%BC%2F%3F"
    with_key = sign(SECRET, "GET", f"{URL}/hr-1?code=one&x=1", "1")
    assert with_key == sign(SECRET, "GET", f"{URL}/hr-1?x=1", "1")


def test_paths_are_compared_after_normalising_percent_encoding() -> None:
    assert canonical_path("/api/hr-events/wd%3a7") == canonical_path("/api/hr-events/wd:7") == "/api/hr-events/wd%3A7"
    assert canonical_path("") == "/"


def test_a_valid_signature_is_accepted_and_reports_its_digest() -> None:
    timestamp = str(NOW)
    signature = sign(SECRET, "POST", URL, timestamp, BODY)
    result = verify(
        SECRET, method="POST", url=URL, timestamp=timestamp, signature=signature.upper().replace("V1=", "v1="),
        body=BODY, now=NOW + 299, tolerance_seconds=300,
    )  # fmt: skip
    assert result.digest == signature.removeprefix("v1=") and result.timestamp == NOW


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("DELETE", URL, BODY),  # another method
        ("POST", f"{URL}/batch", BODY),  # another route
        ("POST", f"{URL}?dryRun=1", BODY),  # another query
        ("POST", URL, BODY + b" "),  # another body
    ],
    ids=["method", "path", "query", "body"],
)
def test_a_signature_binds_method_path_query_and_body(method: str, url: str, body: bytes) -> None:
    signature = sign(SECRET, "POST", URL, str(NOW), BODY)
    with pytest.raises(SignatureError, match="does not match"):
        check(method, url, str(NOW), signature, body)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v1=" + "0" * 64, "missing"),
        (str(NOW), None, "missing"),
        ("10e5", "v1=" + "0" * 64, "ASCII digits"),
        ("1767225600²", "v1=" + "0" * 64, "ASCII digits"),
        ("١٧٦٧٢٢٥٦٠٠", "v1=" + "0" * 64, "ASCII digits"),
        ("9" * 13, "v1=" + "0" * 64, "ASCII digits"),
        (str(NOW - 301), "v1=" + "0" * 64, "window"),
        (str(NOW + 301), "v1=" + "0" * 64, "window"),
        (str(NOW), "sha256=" + "0" * 64, "retired"),
        (str(NOW), "v2=" + "0" * 64, "must be v1="),
        (str(NOW), "v1=" + "0" * 63, "must be v1="),
        (str(NOW), "v1=" + "0" * 64, "does not match"),
    ],
)
def test_refusals_say_why(timestamp: str | None, signature: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        check("POST", URL, timestamp, signature)


def test_errors_never_echo_the_signature_or_the_secret() -> None:
    bogus = "v1=" + "ab" * 32
    with pytest.raises(SignatureError) as error:
        check("POST", URL, str(NOW), bogus)
    assert "ab" * 32 not in str(error.value) and SECRET not in str(error.value)


def test_signed_headers_and_the_command_line_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = signing.signed_headers(SECRET, "POST", URL, BODY, now=NOW)
    assert headers == {
        signing.TIMESTAMP_HEADER: str(NOW),
        signing.SIGNATURE_HEADER: sign(SECRET, "POST", URL, str(NOW), BODY),
    }
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY)
    monkeypatch.delenv("HR_SIGNING_SECRET", raising=False)
    assert signing.main(["POST", URL, str(body_file)]) == 2
    monkeypatch.setenv("HR_SIGNING_SECRET", SECRET)
    assert signing.main(["POST", URL, str(body_file)]) == 0
    printed = capsys.readouterr().out
    timestamp = re.search(r"X-HR-Timestamp: (\d+)", printed)
    assert timestamp is not None
    assert f"X-HR-Signature: {sign(SECRET, 'POST', URL, timestamp.group(1), BODY)}" in printed
