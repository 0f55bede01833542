"""Graph user routes of the Entra emulator over httpx with production URLs and real tokens."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from emulators.entra.testing import EntraEmulator, app_credential

pytestmark = pytest.mark.e2e
ADVANCED = {"ConsistencyLevel": "eventual"}


def _seed_people(entra: EntraEmulator) -> dict[str, dict[str, Any]]:
    control = entra.control
    boss = control.seed_user(
        "synced",
        userPrincipalName="boss@contoso.com",
        mail="boss@contoso.com",
        employeeId="E00007",
        givenName="Bo",
        surname="Ss",
        onPremisesSamAccountName="boss",
    )["entraUser"]
    zoe = control.seed_user(
        "synced",
        userPrincipalName="zoe.obrien@contoso.com",
        mail="zoe.o'brien@contoso.com",
        employeeId="E10042",
        givenName="Zoë",
        surname="O'Brien",
        manager="E00007",
        proxyAddresses=["smtp:zoe@contoso.com"],
    )["entraUser"]
    cloud = control.seed_user(
        "entra",
        userPrincipalName="cloud.admin@contoso.com",
        mail="cloud.admin@contoso.com",
        employeeId="C1",
    )["entraUser"]
    control.seed_user("ad", userPrincipalName="hidden@contoso.com", employeeId="A1", mail="hidden@contoso.com")
    return {"boss": boss, "zoe": zoe, "cloud": cloud}


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {user["id"] for user in response.json()["value"]}


def test_filters_on_the_default_query_surface(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    zoe, boss = people["zoe"]["id"], people["boss"]["id"]

    def find(expression: str) -> set[str]:
        return _ids(entra_graph.get("/users", params={"$filter": expression}))

    assert find("userPrincipalName eq 'ZOE.OBRIEN@contoso.com'") == {zoe}
    assert find("mail eq 'zoe.o''brien@contoso.com'") == {zoe}
    assert find("employeeId eq 'E00007'") == {boss}
    assert find("proxyAddresses/any(p:p eq 'SMTP:zoe@contoso.com')") == {zoe}
    assert find("proxyAddresses/any(p:p eq 'smtp:boss@contoso.com')") == {boss}
    assert find("employeeId eq 'E00007' or mail eq 'zoe.o''brien@contoso.com'") == {zoe, boss}
    assert find("employeeId eq 'E00007' and mail eq 'zoe.o''brien@contoso.com'") == set()
    assert find("userPrincipalName eq 'hidden@contoso.com'") == set()  # AD-only: invisible to Graph
    assert find("startsWith(userPrincipalName,'zoe')") == {zoe}


def test_advanced_filters_need_consistency_level_and_count(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    for expression in (
        "onPremisesSamAccountName eq 'boss'",
        "endsWith(mail,'@contoso.com')",
        "employeeId ne 'E1'",
        "employeeId in ('E00007')",
        "not(employeeId eq 'E00007')",
    ):
        plain = entra_graph.get("/users", params={"$filter": expression})
        assert plain.status_code == 400, expression
        assert plain.json()["error"]["code"] == "Request_UnsupportedQuery"
        assert set(plain.json()["error"]["innerError"]) >= {"date", "request-id", "client-request-id"}
        only_header = entra_graph.get("/users", params={"$filter": expression}, headers=ADVANCED)
        assert only_header.status_code == 400
    advanced = entra_graph.get(
        "/users", params={"$filter": "onPremisesSamAccountName eq 'boss'", "$count": "true"}, headers=ADVANCED
    )
    assert _ids(advanced) == {people["boss"]["id"]}
    assert advanced.json()["@odata.count"] == 1


def test_select_controls_the_returned_properties(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    _seed_people(entra_env)
    default = entra_graph.get("/users", params={"$filter": "employeeId eq 'E10042'"}).json()["value"][0]
    assert "employeeId" not in default and "onPremisesSyncEnabled" not in default
    assert default["userPrincipalName"] == "zoe.obrien@contoso.com"
    selected = entra_graph.get(
        "/users",
        params={
            "$filter": "employeeId eq 'E10042'",
            "$select": "id,employeeId,onPremisesSyncEnabled,proxyAddresses,accountEnabled",
        },
    ).json()["value"][0]
    assert set(selected) == {"id", "employeeId", "onPremisesSyncEnabled", "proxyAddresses", "accountEnabled"}
    assert selected["onPremisesSyncEnabled"] is True
    assert "SMTP:zoe.o'brien@contoso.com" in selected["proxyAddresses"]
    bad = entra_graph.get("/users", params={"$select": "noSuchProperty"})
    assert bad.status_code == 400


def test_top_and_next_link_page_through_everyone(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    for number in range(7):
        entra_env.control.seed_user("entra", userPrincipalName=f"u{number}@contoso.com", employeeId=f"P{number}")
    seen: list[str] = []
    response = entra_graph.get("/users", params={"$top": "3", "$select": "userPrincipalName"})
    pages = 0
    while True:
        body = response.json()
        seen += [user["userPrincipalName"] for user in body["value"]]
        pages += 1
        if "@odata.nextLink" not in body:
            break
        assert body["@odata.nextLink"].startswith("https://graph.microsoft.com/v1.0/users?")
        response = entra_graph.get(body["@odata.nextLink"])
    assert pages == 3
    assert seen == [f"u{number}@contoso.com" for number in range(7)]
    filtered = entra_graph.get(
        "/users", params={"$filter": "startsWith(userPrincipalName,'u') or employeeId eq 'P6'", "$top": "4"}
    ).json()
    rest = entra_graph.get(filtered["@odata.nextLink"]).json()
    assert len(filtered["value"]) + len(rest["value"]) == 7 and "@odata.nextLink" not in rest
    assert entra_graph.get("/users", params={"$top": "1000"}).status_code == 400


def test_get_user_by_id_or_upn_and_404(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    by_id = entra_graph.get(f"/users/{people['zoe']['id']}")
    by_upn = entra_graph.get("/users/Zoe.OBrien@contoso.com")
    assert by_id.status_code == by_upn.status_code == 200
    assert by_id.json()["id"] == by_upn.json()["id"]
    missing = entra_graph.get("/users/nobody@contoso.com")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    assert entra_graph.get("/users/hidden@contoso.com").status_code == 404
    beta = httpx.get("https://graph.microsoft.com/beta/users/boss@contoso.com", headers=entra_graph.headers)
    assert beta.status_code == 200


def test_manager_and_no_manager(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    manager = entra_graph.get(f"/users/{people['zoe']['id']}/manager")
    assert manager.status_code == 200
    assert manager.json()["id"] == people["boss"]["id"]
    assert manager.json()["@odata.type"] == "#microsoft.graph.user"
    none = entra_graph.get("/users/boss@contoso.com/manager")
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "Request_ResourceNotFound"


def test_temporary_access_pass(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    path = f"/users/{people['zoe']['id']}/authentication/temporaryAccessPassMethods"
    first = entra_graph.post(path, json={"lifetimeInMinutes": 480, "isUsableOnce": False})
    assert first.status_code == 201
    assert first.json()["lifetimeInMinutes"] == 480
    assert len(first.json()["temporaryAccessPass"]) >= 8
    listed = entra_graph.get(path).json()["value"]
    assert [method["temporaryAccessPass"] for method in listed] == [None]
    second = entra_graph.post(path, json={"startDateTime": "2030-01-01T08:00:00Z"})
    assert second.status_code == 201
    assert second.json()["methodUsabilityReason"] == "NotYetValid"
    state = entra_env.control.state()
    taps = [tap for tap in state["temporaryAccessPasses"] if tap["userId"] == people["zoe"]["id"]]
    assert [tap["temporaryAccessPass"] for tap in taps] == [second.json()["temporaryAccessPass"]]
    assert entra_graph.post(path, json={"lifetimeInMinutes": 5}).status_code == 400
    assert entra_graph.post(path, json={"lifetimeInMinutes": 43201}).status_code == 400
    not_synced = entra_graph.post("/users/hidden@contoso.com/authentication/temporaryAccessPassMethods", json={})
    assert not_synced.status_code == 404


def test_password_profile_on_synced_and_cloud_users(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    body = {"passwordProfile": {"password": "Initial-Passw0rd!", "forceChangePasswordNextSignIn": True}}
    synced = entra_graph.patch(f"/users/{people['zoe']['id']}", json=body)
    assert synced.status_code == 400
    assert synced.json()["error"]["code"] == "Request_BadRequest"
    assert "on-premises mastered" in synced.json()["error"]["message"]
    cloud = entra_graph.patch("/users/cloud.admin@contoso.com", json=body)
    assert cloud.status_code == 204
    reset = entra_graph.post(
        f"/users/{people['cloud']['id']}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword",
        json={"newPassword": "x"},
    )
    assert reset.status_code == 403
    assert "Initial-Passw0rd!" not in str(entra_env.control.state())


def test_send_mail_goes_to_the_outbox(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    _seed_people(entra_env)
    message = {
        "message": {
            "subject": "Welcome, Zoë",
            "body": {"contentType": "HTML", "content": "<p>Hello</p>"},
            "toRecipients": [{"emailAddress": {"address": "boss@contoso.com"}}],
        },
        "saveToSentItems": False,
    }
    sent = entra_graph.post("/users/cloud.admin@contoso.com/sendMail", json=message)
    assert sent.status_code == 202
    assert sent.content == b""
    outbox = entra_env.control.state()["outbox"]
    assert [(mail["subject"], mail["toRecipients"], mail["from"]) for mail in outbox] == [
        ("Welcome, Zoë", ["boss@contoso.com"], "cloud.admin@contoso.com")
    ]
    no_recipient = entra_graph.post(
        "/users/cloud.admin@contoso.com/sendMail", json={"message": {"subject": "x", "toRecipients": []}}
    )
    assert no_recipient.status_code == 400
    bad_mime = entra_graph.post(
        "/users/cloud.admin@contoso.com/sendMail", content=b"not base64!!", headers={"Content-Type": "text/plain"}
    )
    assert bad_mime.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"
    mime = base64.b64encode(b"To: boss@contoso.com\r\nSubject: MIME hello\r\n\r\nplain body\r\n")
    assert (
        entra_graph.post(
            "/users/cloud.admin@contoso.com/sendMail", content=mime, headers={"Content-Type": "text/plain"}
        ).status_code
        == 202
    )
    assert entra_env.control.state()["outbox"][-1]["subject"] == "MIME hello"
    assert entra_graph.post("/users/nobody@contoso.com/sendMail", json=message).status_code == 404


def test_send_mail_reads_property_names_case_insensitively(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    # msgraph-sdk sends the action parameters as CSDL spells them (Message, SaveToSentItems) and stamps
    # @odata.type on the message; Graph reads property names case-insensitively.
    _seed_people(entra_env)
    body = {
        "Message": {
            "@odata.type": "#microsoft.graph.message",
            "Subject": "Hello from the SDK",
            "Body": {"ContentType": "html", "Content": "<p>Hi</p>"},
            "ToRecipients": [{"EmailAddress": {"Address": "boss@contoso.com"}}],
        },
        "SaveToSentItems": False,
    }
    sent = entra_graph.post("/users/cloud.admin@contoso.com/sendMail", json=body)
    assert sent.status_code == 202, sent.text
    mail = entra_env.control.state()["outbox"][-1]
    assert (mail["subject"], mail["toRecipients"], mail["saveToSentItems"]) == (
        "Hello from the SDK",
        ["boss@contoso.com"],
        False,
    )
    assert mail["body"] == {"contentType": "html", "content": "<p>Hi</p>"}
    twice = entra_graph.post("/users/cloud.admin@contoso.com/sendMail", json={**body, "message": body["Message"]})
    assert twice.status_code == 400


def test_odata_type_annotations_are_accepted_when_they_fit(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    profile = {
        "@odata.type": "#microsoft.graph.user",
        "passwordProfile": {
            "@odata.type": "#microsoft.graph.passwordProfile",
            "password": "Initial-Passw0rd!",
            "ForceChangePasswordNextSignIn": True,
        },
    }
    assert entra_graph.patch("/users/cloud.admin@contoso.com", json=profile).status_code == 204
    renamed = entra_graph.patch(
        f"/users/{people['cloud']['id']}", json={"@odata.type": "microsoft.graph.user", "JobTitle": "Admin"}
    )
    assert renamed.status_code == 204
    cloud = next(u for u in entra_env.control.state()["entraUsers"] if u["id"] == people["cloud"]["id"])
    assert cloud["jobTitle"] == "Admin" and "JobTitle" not in cloud
    tap = entra_graph.post(
        f"/users/{people['zoe']['id']}/authentication/temporaryAccessPassMethods",
        json={"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "lifetimeInMinutes": 60},
    )
    assert tap.status_code == 201, tap.text
    wrong = entra_graph.patch(
        "/users/cloud.admin@contoso.com", json={"@odata.type": "#microsoft.graph.group", "jobTitle": "x"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "BadRequest"
    assert "microsoft.graph.user" in wrong.json()["error"]["message"]


def test_collections_are_empty_lists_never_null(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    # businessPhones and proxyAddresses are Collection(Edm.String) Nullable="false" in Graph's metadata.
    synced = entra_env.control.seed_user("synced", userPrincipalName="nophone@contoso.com", employeeId="N1")
    user_id = synced["entraUser"]["id"]
    default = entra_graph.get(f"/users/{user_id}").json()
    assert default["businessPhones"] == []
    selected = entra_graph.get(f"/users/{user_id}", params={"$select": "businessPhones,proxyAddresses"}).json()
    assert (selected["businessPhones"], selected["proxyAddresses"]) == ([], [])
    listed = entra_graph.get("/users", params={"$filter": "employeeId eq 'N1'"}).json()["value"]
    assert [user["businessPhones"] for user in listed] == [[]]


def test_get_temporary_access_pass_by_id_hides_the_pass(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    path = f"/users/{people['zoe']['id']}/authentication/temporaryAccessPassMethods"
    created = entra_graph.post(path, json={"lifetimeInMinutes": 60}).json()
    fetched = entra_graph.get(f"{path}/{created['id']}")
    assert fetched.status_code == 200, fetched.text
    body = fetched.json()
    assert body["id"] == created["id"]
    assert body["temporaryAccessPass"] is None
    assert body["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    assert (body["lifetimeInMinutes"], body["isUsableOnce"]) == (60, False)
    assert created["temporaryAccessPass"] not in fetched.text
    missing = entra_graph.get(f"{path}/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert (
        entra_graph.get(
            f"/users/nobody@contoso.com/authentication/temporaryAccessPassMethods/{created['id']}"
        ).status_code
        == 404
    )


def test_revoke_sign_in_sessions(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    people = _seed_people(entra_env)
    response = entra_graph.post(f"/users/{people['zoe']['id']}/revokeSignInSessions")
    assert response.status_code == 200
    assert response.json()["value"] is True
    zoe = next(u for u in entra_env.control.state()["entraUsers"] if u["id"] == people["zoe"]["id"])
    assert zoe["signInSessionsValidFromDateTime"]


def test_missing_or_bad_token_is_401(entra_env: EntraEmulator) -> None:
    with httpx.Client(base_url="https://graph.microsoft.com/v1.0") as anonymous:
        missing = anonymous.get("/users")
        forged = anonymous.get("/users", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"})
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert response.headers["request-id"]


# Permissions that open the same route: each is removed with the one under test.
SAME_ROUTE = {
    "UserAuthenticationMethod.ReadWrite.All": {"UserAuthMethod-TAP.ReadWrite.All"},
    "UserAuthMethod-TAP.ReadWrite.All": {"UserAuthenticationMethod.ReadWrite.All"},
}
ROUTE_ROLES = [
    ("GET", "/users", None, "User.Read.All"),
    ("GET", "/users/zoe.obrien@contoso.com/manager", None, "User.Read.All"),
    (
        "POST",
        "/users/boss@contoso.com/authentication/temporaryAccessPassMethods",
        {},
        "UserAuthenticationMethod.ReadWrite.All",
    ),
    (
        "POST",
        "/users/boss@contoso.com/authentication/temporaryAccessPassMethods",
        {},
        "UserAuthMethod-TAP.ReadWrite.All",
    ),
    ("GET", "/roleManagement/directory/roleAssignments", None, "RoleManagement.Read.Directory"),
    (
        "PATCH",
        "/users/cloud.admin@contoso.com",
        {"passwordProfile": {"password": "P@ssw0rd-1"}},
        "User-PasswordProfile.ReadWrite.All",
    ),
    (
        "POST",
        "/users/boss@contoso.com/sendMail",
        {"message": {"toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}]}},
        "Mail.Send",
    ),
    ("POST", "/users/boss@contoso.com/revokeSignInSessions", None, "User.RevokeSessions.All"),
    ("GET", "/auditLogs/provisioning", None, "AuditLog.Read.All"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "role"), ROUTE_ROLES, ids=[f"{r[3]}-{r[1].rsplit('/', 1)[-1]}" for r in ROUTE_ROLES]
)
def test_each_route_needs_its_app_role(entra_env: EntraEmulator, method: str, path: str, body: Any, role: str) -> None:
    _seed_people(entra_env)
    env = entra_env.env
    everything_else = [
        r
        for r in entra_env.control.config()["appRoles"][env["EMULATOR_APP_CLIENT_ID"]]
        if r not in {role, "User.ReadWrite.All", *SAME_ROUTE.get(role, ())}
    ]

    def call_with(roles: list[str]) -> httpx.Response:
        entra_env.control.configure(appRoles={env["EMULATOR_APP_CLIENT_ID"]: roles})
        credential = app_credential(env)
        token = credential.get_token("https://graph.microsoft.com/.default").token
        return httpx.request(
            method, f"https://graph.microsoft.com/v1.0{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    denied = call_with(everything_else)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    allowed = call_with([role])
    assert allowed.status_code < 400, allowed.text
