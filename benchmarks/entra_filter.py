"""How fast the Entra emulator answers Graph user filters with a realistic amount of state.

10,000 synced users and 500 staged bulk requests (50 operations each), then timed ``$filter``
queries through the proxy with the real credential and httpx, as the product makes them.
Prints figures only; run: ``.venv/bin/python -m benchmarks.entra_filter``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial

import httpx

from emulators.entra.testing import EntraEmulator

USERS = 10_000
BULK_REQUESTS = 500
OPERATIONS_PER_REQUEST = 50
REPEATS = 50
SP_ID = "3b3b6c41-5bd0-4a44-9a1f-8d0a2bcf7a11"


def _person(number: int) -> dict[str, object]:
    return {
        "userPrincipalName": f"user{number}@contoso.com",
        "mail": f"first{number}.o'last@contoso.com",
        "employeeId": f"E{number:06d}",
        "proxyAddresses": [f"smtp:alias{number}@contoso.com"],
        "givenName": f"First{number}",
        "surname": "O'Last",
    }


def _bulk_body(request_number: int) -> dict[str, object]:
    operations = []
    for index in range(OPERATIONS_PER_REQUEST):
        employee = f"N{request_number:04d}{index:02d}"
        operations.append(
            {
                "method": "POST",
                "bulkId": employee,
                "path": "/Users",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "externalId": employee,
                    "userName": f"{employee.lower()}@contoso.com",
                    "active": True,
                },
            }
        )
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
        "failOnErrors": None,
    }


def _time(call: Callable[[], httpx.Response]) -> tuple[float, float]:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as state_dir, EntraEmulator(state_dir) as entra:
        control = entra.control
        started = time.perf_counter()
        for start in range(0, USERS, 1000):
            control.seed_users("synced", [_person(n) for n in range(start, min(start + 1000, USERS))])
        seeding = time.perf_counter() - started
        control.configure(agentOnline=False, rateLimit={"callsPerWindow": 100_000, "dailyCalls": 100_000})
        os.environ.update(entra.env)
        from emulators.entra.testing import app_credential

        env = entra.env
        token = app_credential(env).get_token("https://graph.microsoft.com/.default").token
        job = f"API2AD.{env['AZURE_TENANT_ID'].replace('-', '')}.6f0e8d9c-2a1b-4c3d-9e8f-7a6b5c4d3e2f"
        with httpx.Client(
            base_url="https://graph.microsoft.com/v1.0", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as graph:
            started = time.perf_counter()
            for number in range(BULK_REQUESTS):
                graph.post(
                    f"/servicePrincipals/{SP_ID}/synchronization/jobs/{job}/bulkUpload",
                    json=_bulk_body(number),
                    headers={"Content-Type": "application/scim+json"},
                ).raise_for_status()
            uploading = time.perf_counter() - started
            # Persist the big state now, so the worker's periodic flush does not land inside the timings.
            entra.flush()
            queries = {
                "employeeId eq": "employeeId eq 'E004321'",
                "userPrincipalName eq": "userPrincipalName eq 'USER9876@contoso.com'",
                "mail eq (quoted)": "mail eq 'first777.o''last@contoso.com'",
                "proxyAddresses/any": "proxyAddresses/any(p:p eq 'SMTP:alias5555@contoso.com')",
                "upn or mail or proxy": (
                    "userPrincipalName eq 'user42@contoso.com' or mail eq 'user42@contoso.com' "
                    "or proxyAddresses/any(p:p eq 'smtp:user42@contoso.com')"
                ),
            }
            print(f"state: {USERS} users, {BULK_REQUESTS} bulk requests x {OPERATIONS_PER_REQUEST} operations")
            print(f"seeding users: {seeding:.1f} s; {BULK_REQUESTS} bulk uploads: {uploading:.1f} s")
            print(f"{'query':<28} {'median ms':>10} {'p95 ms':>8} {'hits':>5}")
            for label, expression in queries.items():
                params = {"$filter": expression, "$select": "id,userPrincipalName,employeeId"}
                hits = len(graph.get("/users", params=params).json()["value"])
                median, p95 = _time(partial(graph.get, "/users", params=params))
                print(f"{label:<28} {median:>10.1f} {p95:>8.1f} {hits:>5}")
            scan = {"$filter": "endsWith(mail,'@contoso.com')", "$count": "true", "$top": "1"}
            median, p95 = _time(lambda: graph.get("/users", params=scan, headers={"ConsistencyLevel": "eventual"}))
            print(f"{'endsWith (full scan)':<28} {median:>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
