"""The HR systems emulator behaves as the vendors document (docs/connectors.md): hostnames behind the shared proxy,
API authentication and errors, paging, webhook signatures computed independently here, and each vendor's retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from emulators.entra.testing import EntraEmulator
from emulators.hris.testing import HrisEmulator

pytestmark = pytest.mark.e2e


class Receiver:
    """A loopback webhook receiver answering a scripted status per request."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(list(statuses or [])))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture
def vendor_api(entra: EntraEmulator, hris_reset: HrisEmulator) -> Iterator[httpx.Client]:
    """httpx on the vendors' production URLs through the proxy, trusting the emulators' CA."""
    env = entra.env
    context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    with httpx.Client(proxy=env["HTTPS_PROXY"], verify=context, trust_env=False, timeout=30) as client:
        yield client


def seed(hris: HrisEmulator) -> None:
    hris.control.configure("bamboohr", credentials={"apiKey": "key"}, webhookSecret="bamboo-secret")
    hris.control.configure("hibob", credentials={"serviceUserId": "SU", "token": "tok"}, webhookSecret="bob-secret")
    hris.control.configure("personio", credentials={"clientId": "cid", "clientSecret": "cs"}, webhookSecret="ptoken")
    for vendor in ("bamboohr", "hibob", "personio"):
        for number in range(1, 4):
            hris.control.put_employee(
                vendor, str(number), firstName=f"P{number}", lastName="Test", hireDate="2026-01-01"
            )


def test_the_proxy_reaches_every_vendor_host_and_nothing_else(
    vendor_api: httpx.Client, hris_reset: HrisEmulator, entra: EntraEmulator
) -> None:
    seed(hris_reset)
    ok = vendor_api.get("https://api.bamboohr.com/api/gateway.php/acme/v1/employees/1", auth=("key", "x"))
    assert ok.status_code == 200 and ok.json()["id"] == "1"
    assert (
        vendor_api.post("https://api.hibob.com/v1/people/1", json={"fields": []}, auth=("SU", "tok")).status_code == 200
    )
    assert (
        vendor_api.post(
            "https://api.sandbox.hibob.com/v1/people/1", json={"fields": []}, auth=("SU", "tok")
        ).status_code
        == 200
    )
    assert vendor_api.get("https://acme.bamboohr.com/nothing-here").status_code == 404
    with pytest.raises(httpx.ProxyError):
        vendor_api.get("https://api.workday.com/")
    assert any("api.workday.com" in target for target in entra.proxy_denied)


def test_bamboohr_api_auth_fields_errors_and_paging(vendor_api: httpx.Client, hris_reset: HrisEmulator) -> None:
    seed(hris_reset)
    base = "https://api.bamboohr.com/api/gateway.php/acme/v1"
    assert vendor_api.get(f"{base}/employees/1").status_code == 401
    answer = vendor_api.get(
        f"{base}/employees/1", params={"fields": "firstName,terminationDate,status"}, auth=("key", "x")
    )
    assert answer.json() == {"id": "1", "firstName": "P1", "terminationDate": "0000-00-00", "status": "Active"}
    missing = vendor_api.get(f"{base}/employees/99", auth=("key", "x"))
    assert missing.status_code == 404 and missing.headers["X-BambooHR-Error-Message"]
    assert vendor_api.post(f"{base}/employees/1", json=[], auth=("key", "x")).status_code == 400
    ids: list[str] = []
    url: str | None = f"{base}/employees"
    while url:
        page = vendor_api.get(url, auth=("key", "x")).json()
        ids += [row["employeeId"] for row in page["data"]]
        url = (page["_links"].get("next") or {}).get("href")
    assert ids == ["1", "2", "3"]


def test_faults_answer_with_retry_after_then_clear(vendor_api: httpx.Client, hris_reset: HrisEmulator) -> None:
    seed(hris_reset)
    hris_reset.control.faults("bamboohr", api=[{"status": 503, "count": 1, "retryAfter": 7}], slowSeconds=0.2)
    base = "https://api.bamboohr.com/api/gateway.php/acme/v1/employees/1"
    throttled = vendor_api.get(base, auth=("key", "x"))
    assert throttled.status_code == 503 and throttled.headers["Retry-After"] == "7"
    assert vendor_api.get(base, auth=("key", "x")).status_code == 200
    hris_reset.control.faults("bamboohr", api=[{"status": 401, "count": 1, "operation": "writeback"}])
    assert vendor_api.get(base, auth=("key", "x")).status_code == 200  # not a writeback
    assert vendor_api.post(base, json={"workEmail": "a@contoso.com"}, auth=("key", "x")).status_code == 401
    hris_reset.control.clear_faults("bamboohr")
    assert vendor_api.post(base, json={"workEmail": "a@contoso.com"}, auth=("key", "x")).status_code == 200
    assert hris_reset.control.state("bamboohr")["writebacks"] == [
        {"employeeId": "1", "fields": {"workEmail": "a@contoso.com"}}
    ]


def test_hibob_and_personio_apis(vendor_api: httpx.Client, hris_reset: HrisEmulator) -> None:
    seed(hris_reset)
    bob = vendor_api.post(
        "https://api.hibob.com/v1/people/1", json={"fields": ["/root/firstName", "/work/startDate"]}, auth=("SU", "tok")
    )
    assert bob.json() == {"id": "1", "firstName": "P1", "work": {"startDate": "2026-01-01"}}
    assert vendor_api.post("https://api.hibob.com/v1/people/1", json={}, auth=("SU", "tok")).status_code == 400
    assert (
        vendor_api.post("https://api.hibob.com/v1/people/1", json={"fields": []}, auth=("SU", "no")).status_code == 401
    )
    assert (
        len(
            vendor_api.post("https://api.hibob.com/v1/people/search", json={"fields": []}, auth=("SU", "tok")).json()[
                "employees"
            ]
        )
        == 3
    )
    assert (
        vendor_api.put(
            "https://api.hibob.com/v1/people/9/email", json={"email": "x@contoso.com"}, auth=("SU", "tok")
        ).status_code
        == 404
    )
    refused = vendor_api.post(
        "https://api.personio.de/v2/auth/token",
        data={"grant_type": "client_credentials", "client_id": "cid", "client_secret": "no"},
    )
    assert refused.status_code == 401
    token = vendor_api.post(
        "https://api.personio.de/v2/auth/token",
        data={"grant_type": "client_credentials", "client_id": "cid", "client_secret": "cs"},
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert vendor_api.get("https://api.personio.de/v2/persons/1").status_code == 401
    assert vendor_api.get("https://api.personio.de/v2/persons/1", headers=auth).json()["first_name"] == "P1"
    employments = vendor_api.get("https://api.personio.de/v2/persons/1/employments", headers=auth).json()["_data"]
    assert employments[0]["start_date"] == "2026-01-01" and employments[0]["person"] == {"id": "1"}
    page = vendor_api.get("https://api.personio.de/v2/persons", params={"limit": 2}, headers=auth).json()
    assert len(page["_data"]) == 2 and page["_meta"]["links"]["next"]["href"].endswith("cursor=2")
    assert vendor_api.patch("https://api.personio.de/v2/persons/9", json={}, headers=auth).status_code == 404


def test_webhooks_are_signed_as_each_vendor_documents(hris_reset: HrisEmulator, receiver: Any) -> None:
    seed(hris_reset)
    sink = receiver()
    for vendor in ("bamboohr", "hibob", "personio"):
        hris_reset.control.configure(vendor, webhookTarget=sink.url)
        hris_reset.control.put_employee(
            vendor, "7", notify="created", firstName="N", lastName="H", hireDate="2026-12-01"
        )
        hris_reset.control.wait_until(
            vendor, lambda s: s["deliveries"] and all(d["status"] == "delivered" for d in s["deliveries"])
        )
    bamboo, bamboo_update, bob, personio = sink.requests
    stamp = bamboo["headers"]["X-BambooHR-Timestamp"]
    expected = hmac.new(b"bamboo-secret", bamboo["body"] + stamp.encode(), hashlib.sha256).hexdigest()
    assert bamboo["headers"]["X-BambooHR-Signature"] == expected
    assert (
        json.loads(bamboo["body"])["type"] == "employee.created"
        and json.loads(bamboo_update["body"])["type"] == "employee.updated"
    )
    expected_bob = base64.b64encode(hmac.new(b"bob-secret", bob["body"], hashlib.sha512).digest()).decode()
    assert bob["headers"]["Bob-Signature"] == expected_bob
    assert json.loads(bob["body"])["version"] == "v2" and json.loads(bob["body"])["data"]["employeeId"] == "7"
    assert personio["headers"]["Authorization"] == "ptoken"
    assert set(json.loads(personio["body"])) == {"company_id", "event_name", "occurred_at", "payload", "meta"}


@pytest.mark.parametrize(
    "case",
    [
        ("bamboohr", [500, 500, 200], 3, "delivered"),  # a 5xx is retried
        ("bamboohr", [401], 1, "failed (401)"),  # a 4xx never
        ("personio", [503, 200], 2, "delivered"),  # the fast second attempt
        ("personio", [501], 1, "failed (501)"),  # 501 is not retried
        ("hibob", [400, 200], 2, "delivered"),  # Bob retries any failure
    ],
)
def test_each_vendor_retries_as_documented(
    hris_reset: HrisEmulator, receiver: Any, case: tuple[str, list[int], int, str]
) -> None:
    vendor, statuses, requests, final = case
    seed(hris_reset)
    sink = receiver(statuses)
    hris_reset.control.configure(vendor, webhookTarget=sink.url, retryScale=0.0001)
    hris_reset.control.notify(vendor, "1", kind="updated")
    state = hris_reset.control.wait_until(vendor, lambda s: s["deliveries"][0]["status"] == final, timeout=20)
    assert len(state["deliveries"][0]["attempts"]) == requests == len(sink.requests)


def test_the_control_api_refuses_what_it_cannot_apply(hris_reset: HrisEmulator) -> None:
    control = hris_reset.control
    with pytest.raises(ValueError, match="unknown employee field"):
        control.put_employee("bamboohr", "1", shoeSize=44)
    with pytest.raises(ValueError, match="unknown HR system"):
        control.put_employee("workday", "1")
    with pytest.raises(ValueError, match="notify"):
        control.put_employee("bamboohr", "1", notify="exploded")
    with pytest.raises(ValueError, match="no such employee"):
        control.terminate("bamboohr", "404", "2026-12-31")
    with pytest.raises(ValueError, match="kind"):
        control.notify("bamboohr", "1", kind="exploded")
