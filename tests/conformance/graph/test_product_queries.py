"""The product's own Graph client passes the emulator's documented-only query rules.

The emulator refuses what Microsoft does not document for a property (``activityDateTime ge``, ``or``...),
so the product's provisioning-log query must keep to ``eq``/``gt``/``lt``; this runs it for real.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from emulators.entra.testing import EntraEmulator, app_credential
from provisioning.graph import BatchRequest, GraphClient, filter_eq, users_query
from tests.conformance.graph.sdk import bulk_request

pytestmark = pytest.mark.e2e
JOB_ID = "API2AD.0c0ffee0e17a4e5c9d1e0d2c1a5e0001.4f3e2d1c-0b0a-4998-8877-665544332211"
ENDPOINT = f"https://graph.microsoft.com/v1.0/servicePrincipals/7d1c2b3a/synchronization/jobs/{JOB_ID}/bulkUpload"


def test_the_product_reads_provisioning_logs_within_the_documented_filters(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(adErrors={"Q2": "InsufficientAccessRights"})
    with GraphClient(app_credential(entra_env.env)) as graph:
        accepted = graph.bulk_upload(ENDPOINT, bulk_request("Q1", "Q2"))
        entra_env.control.wait_until(lambda state: len(state["provisioningLogs"]) == 2, timeout=30)
        since = accepted.submitted_at - dt.timedelta(minutes=2)
        [entry] = graph.provisioning_logs(job_id=JOB_ID, source_id="Q2", since=since)
        failures = graph.provisioning_logs(job_id=JOB_ID, source_id=None, since=since, statuses=["failure"])
        later = graph.provisioning_logs(job_id=JOB_ID, source_id=None, since=dt.datetime.now(dt.UTC) + dt.timedelta(1))
    assert entry["sourceIdentity"]["id"] == "Q2"
    assert [e["sourceIdentity"]["id"] for e in failures] == ["Q2"]
    assert later == []
    queries = [call for call in entra_env.control.state()["calls"] if call["path"].endswith("/auditLogs/provisioning")]
    assert [call["status"] for call in queries] == [200, 200, 200]


def test_the_old_ge_query_would_be_refused(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    """What the product sent before: the emulator now answers it as an undocumented operator."""
    response = entra_graph.get(
        "/auditLogs/provisioning",
        params={"$filter": f"jobId eq '{JOB_ID}' and activityDateTime ge 2026-11-27T10:03:30Z"},
    )
    assert response.status_code == 400
    assert "'ge' is not supported for 'activityDateTime'" in json.dumps(response.json())


def test_the_product_batches_lookups_and_tracks_user_changes(entra_env: EntraEmulator) -> None:
    """The client's JSON batch, users/delta round and lazy user listing against the emulator's documented rules."""
    control = entra_env.control
    control.seed_user("synced", userPrincipalName="ada@contoso.com", employeeId="A1", onPremisesSamAccountName="ada")
    control.seed_user("synced", userPrincipalName="bob@contoso.com", employeeId="B1")
    with GraphClient(app_credential(entra_env.env)) as graph:
        person, _ = users_query(filter_eq("employeeId", "A1"), select=["id", "employeeId"])
        sam, sam_headers = users_query(
            filter_eq("onPremisesSamAccountName", "ada"), select=["id"], advanced=True, top=1
        )
        answers = graph.batch(
            [
                BatchRequest("person", person),
                BatchRequest("sam", sam, headers=sam_headers),
                BatchRequest("gone", "/users/nobody@contoso.com"),
            ]
        )
        link = graph.latest_user_changes_link(["id", "employeeId", "accountEnabled"])
        control.seed_user("synced", userPrincipalName="cy@contoso.com", employeeId="C1")
        changes = graph.user_changes(link)
        listed = [user["employeeId"] for user in graph.list_users(select=["id", "employeeId"], page_size=2)]
    assert [user["employeeId"] for user in answers["person"].body["value"]] == ["A1"]
    assert len(answers["sam"].body["value"]) == 1 and answers["gone"].status == 404
    assert [user["employeeId"] for user in changes.users] == ["C1"] and changes.delta_link
    assert listed == ["A1", "B1", "C1"]
    calls = entra_env.control.state()["calls"]
    assert sum(1 for call in calls if call.get("inBatch")) == 3
    assert sum(1 for call in calls if call["path"].endswith("/$batch")) == 1
