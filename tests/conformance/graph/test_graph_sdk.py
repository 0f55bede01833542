"""Every Graph call the product makes, made by Microsoft's Python SDK against the Entra emulator.

Each scenario checks two things Microsoft wrote: the SDK can send the request and deserialize the answer,
and every raw response the SDK received fits Graph's published schema (graph_v1_schema.json). The filters
and $select lists are the product's own (provisioning.graph / provisioning.directory).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph.generated.audit_logs.provisioning.provisioning_request_builder import ProvisioningRequestBuilder
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.user import User
from msgraph.generated.users.item.manager.manager_request_builder import ManagerRequestBuilder
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from emulators.entra.testing import EntraEmulator
from provisioning.directory import MANAGER_SELECT, USER_SELECT
from provisioning.graph import filter_eq, users_using_identifier
from tests.conformance.graph.responses import assert_all_conform
from tests.conformance.graph.sdk import RecordingGraph, bulk_request, drive

pytestmark = pytest.mark.e2e
JOB_ID = "API2AD.0c0ffee0e17a4e5c9d1e0d2c1a5e0001.4f3e2d1c-0b0a-4998-8877-665544332211"
SERVICE_PRINCIPAL = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def seed(entra: EntraEmulator) -> dict[str, dict[str, Any]]:
    control = entra.control
    boss = control.seed_user(
        "synced",
        userPrincipalName="maria.schmidt@contoso.com",
        mail="maria.schmidt@contoso.com",
        employeeId="E00007",
        givenName="Maria",
        surname="Schmidt",
        jobTitle="Head of Finance",
    )["entraUser"]
    zoe = control.seed_user(
        "synced",
        userPrincipalName="zoe.obrien@contoso.com",
        mail="zoe.obrien@contoso.com",
        employeeId="E10042",
        givenName="Zoë",
        surname="O'Brien",
        manager="E00007",
        proxyAddresses=["smtp:zoe@contoso.com"],
        onPremisesSamAccountName="zobrien",
    )["entraUser"]
    sender = control.seed_user(
        "entra", userPrincipalName="hr-onboarding@contoso.com", mail="hr-onboarding@contoso.com"
    )["entraUser"]
    return {"boss": boss, "zoe": zoe, "sender": sender}


def users_query(expression: str, select: tuple[str, ...], top: int = 100, advanced: bool = False) -> Any:
    headers = HeadersCollection()
    if advanced:
        headers.add("ConsistencyLevel", "eventual")
    return RequestConfiguration(
        headers=headers,
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            filter=expression, select=list(select), top=top, count=True if advanced else None
        ),
    )


def test_user_lookups_the_product_makes(entra_env: EntraEmulator) -> None:
    people = seed(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        users = graph.client.users
        by_employee = await users.get(users_query(str(filter_eq("employeeId", "E10042")), USER_SELECT))
        assert by_employee is not None and by_employee.value is not None
        [zoe] = by_employee.value
        assert (zoe.id, zoe.user_principal_name, zoe.on_premises_sync_enabled) == (
            people["zoe"]["id"],
            "zoe.obrien@contoso.com",
            True,
        )
        for identifier in ("ZOE.OBRIEN@contoso.com", "zoe@contoso.com"):  # UPN/mail, then a proxy address
            found = await users.get(users_query(str(users_using_identifier(identifier)), ("id",), top=1))
            assert found is not None and [user.id for user in found.value or []] == [people["zoe"]["id"]]
        free = await users.get(users_query(str(users_using_identifier("nobody@contoso.com")), ("id",), top=1))
        assert free is not None and free.value == []
        sam = await users.get(
            users_query(str(filter_eq("onPremisesSamAccountName", "zobrien")), ("id",), top=1, advanced=True)
        )
        assert sam is not None and [user.id for user in sam.value or []] == [people["zoe"]["id"]]
        assert sam.odata_count == 1
        manager = await users.get(users_query(str(filter_eq("employeeId", "E00007")), MANAGER_SELECT))
        assert manager is not None and [user.mail for user in manager.value or []] == ["maria.schmidt@contoso.com"]

    assert_all_conform(drive(entra_env.env, scenario))


def test_paging_through_users_follows_next_links(entra_env: EntraEmulator) -> None:
    entra_env.control.seed_users(
        "synced", [{"userPrincipalName": f"p{n}@contoso.com", "employeeId": f"P{n}"} for n in range(5)]
    )

    async def scenario(graph: RecordingGraph) -> None:
        page = await graph.client.users.get(users_query("startswith(userPrincipalName, 'p')", ("id",), top=2))
        seen: list[str] = []
        while page is not None:
            seen.extend(user.id or "" for user in page.value or [])
            if not page.odata_next_link:
                break
            page = await graph.client.users.with_url(page.odata_next_link).get()
        assert len(seen) == len(set(seen)) == 5

    graph = drive(entra_env.env, scenario)
    assert len(graph.exchanges) == 3
    assert_all_conform(graph)


def test_get_user_and_manager(entra_env: EntraEmulator) -> None:
    people = seed(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        by_id = graph.client.users.by_user_id(people["zoe"]["id"])
        user = await by_id.get(
            RequestConfiguration(
                query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=list(USER_SELECT)
                )
            )
        )
        assert user is not None and user.employee_id == "E10042"
        default = await graph.client.users.by_user_id("zoe.obrien@contoso.com").get()
        assert default is not None and default.business_phones == []
        manager = await by_id.manager.get(
            RequestConfiguration(
                query_parameters=ManagerRequestBuilder.ManagerRequestBuilderGetQueryParameters(
                    select=list(MANAGER_SELECT)
                )
            )
        )
        assert isinstance(manager, User)  # @odata.type picks the derived type
        assert manager.id == people["boss"]["id"]
        with pytest.raises(ODataError) as missing:
            await graph.client.users.by_user_id("nobody@contoso.com").get()
        assert missing.value.response_status_code == 404
        assert missing.value.error is not None and missing.value.error.code == "Request_ResourceNotFound"

    assert_all_conform(drive(entra_env.env, scenario))


def test_temporary_access_pass_create_list_and_get(entra_env: EntraEmulator) -> None:
    people = seed(entra_env)
    start = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)

    async def scenario(graph: RecordingGraph) -> None:
        methods = graph.client.users.by_user_id(people["zoe"]["id"]).authentication.temporary_access_pass_methods
        created = await methods.post(
            TemporaryAccessPassAuthenticationMethod(
                start_date_time=start, lifetime_in_minutes=480, is_usable_once=False
            )
        )
        assert created is not None and created.id and created.temporary_access_pass
        assert (created.start_date_time, created.lifetime_in_minutes) == (start, 480)
        assert created.method_usability_reason == "NotYetValid"
        listed = await methods.get()
        assert listed is not None and [m.id for m in listed.value or []] == [created.id]
        fetched = await methods.by_temporary_access_pass_authentication_method_id(created.id).get()
        assert fetched is not None and fetched.id == created.id
        assert fetched.temporary_access_pass is None  # returned only when created
        assert graph.last().body["temporaryAccessPass"] is None

    assert_all_conform(drive(entra_env.env, scenario))


def test_password_profile_patch(entra_env: EntraEmulator) -> None:
    people = seed(entra_env)
    profile = PasswordProfile(password="Initial-Passw0rd!", force_change_password_next_sign_in=True)

    async def scenario(graph: RecordingGraph) -> None:
        await graph.client.users.by_user_id(people["sender"]["id"]).patch(User(password_profile=profile))
        sent = json.dumps([exchange.status for exchange in graph.exchanges])
        assert sent == "[204]"
        with pytest.raises(ODataError) as synced:
            await graph.client.users.by_user_id(people["zoe"]["id"]).patch(User(password_profile=profile))
        assert synced.value.error is not None and synced.value.error.code == "Request_BadRequest"
        assert "on-premises mastered" in (synced.value.error.message or "")

    assert_all_conform(drive(entra_env.env, scenario))
    assert "Initial-Passw0rd!" not in json.dumps(entra_env.control.state())


def test_send_mail(entra_env: EntraEmulator) -> None:
    seed(entra_env)
    body = SendMailPostRequestBody(
        message=Message(
            subject="Welcome, Zoë",
            body=ItemBody(content_type=BodyType.Html, content="<p>Your pass is ready.</p>"),
            to_recipients=[Recipient(email_address=EmailAddress(address="maria.schmidt@contoso.com"))],
        ),
        save_to_sent_items=False,
    )

    async def scenario(graph: RecordingGraph) -> None:
        await graph.client.users.by_user_id("hr-onboarding@contoso.com").send_mail.post(body)

    graph = drive(entra_env.env, scenario)
    assert [exchange.status for exchange in graph.exchanges] == [202]
    assert_all_conform(graph)
    [mail] = entra_env.control.state()["outbox"]
    assert (mail["subject"], mail["toRecipients"], mail["saveToSentItems"]) == (
        "Welcome, Zoë",
        ["maria.schmidt@contoso.com"],
        False,
    )


def test_revoke_sign_in_sessions(entra_env: EntraEmulator) -> None:
    people = seed(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        revoked = await graph.client.users.by_user_id(people["zoe"]["id"]).revoke_sign_in_sessions.post()
        assert revoked is not None and revoked.value is True

    assert_all_conform(drive(entra_env.env, scenario))


def test_bulk_upload_then_provisioning_logs_with_filter_and_paging(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(adErrors={"B2": "InsufficientAccessRights"})
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = bulk_request("B1", "B2", "B3")

    async def upload(graph: RecordingGraph) -> None:
        jobs = graph.client.service_principals.by_service_principal_id(SERVICE_PRINCIPAL).synchronization.jobs
        builder = jobs.by_synchronization_job_id(JOB_ID).bulk_upload
        await graph.post(builder, json.dumps(payload).encode(), "application/scim+json")

    uploaded = drive(entra_env.env, upload)
    [accepted] = uploaded.exchanges
    assert accepted.status == 202
    assert accepted.headers["Location"].startswith("https://graph.microsoft.com/v1.0/auditLogs/provisioning/")
    assert_all_conform(uploaded)
    entra_env.control.wait_until(lambda state: len(state["provisioningLogs"]) == 3, timeout=30)

    async def read_logs(graph: RecordingGraph) -> None:
        provisioning = graph.client.audit_logs.provisioning
        query = ProvisioningRequestBuilder.ProvisioningRequestBuilderGetQueryParameters
        # The product's query: jobId and sourceIdentity/id with eq, activityDateTime with gt.
        one = await provisioning.get(
            RequestConfiguration(
                query_parameters=query(
                    filter=f"jobId eq '{JOB_ID}' and sourceIdentity/id eq 'B2' and activityDateTime gt {since}",
                    top=100,
                )
            )
        )
        assert one is not None and [entry.source_identity.id for entry in one.value or [] if entry.source_identity]
        [failed] = one.value or []
        assert failed.provisioning_status_info is not None
        assert failed.provisioning_status_info.status is not None
        assert failed.provisioning_status_info.status.value == "failure"
        page = await provisioning.get(
            RequestConfiguration(query_parameters=query(filter=f"jobId eq '{JOB_ID}'", top=2))
        )
        sources: list[str] = []
        while page is not None:
            sources.extend(entry.source_identity.id or "" for entry in page.value or [] if entry.source_identity)
            if not page.odata_next_link:
                break
            page = await provisioning.with_url(page.odata_next_link).get()
        assert sorted(sources) == ["B1", "B2", "B3"]
        with pytest.raises(ODataError) as refused:
            await provisioning.get(RequestConfiguration(query_parameters=query(filter=f"activityDateTime ge {since}")))
        assert refused.value.error is not None and refused.value.error.code == "BadRequest"

    graph = drive(entra_env.env, read_logs)
    assert len(graph.exchanges) == 4
    assert_all_conform(graph)
