"""`make demo`: the product's main job, offline, as an HR system would drive it.

Starts the Entra emulator and the functions host with the real app, seeds a small tenant, posts a hire whose
natural name is already taken (with diacritics), a mover with a new manager and a leaver, and lets an emulated
BambooHR announce one more hire with its signed webhooks; shows each event's stage live, then prints what ended up
in AD and Entra, which emails went out and what was written back to BambooHR. `--serve` (`make serve`)
keeps the stack up instead, like `func start`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from demo.stack import FUNCTION_KEY, HRIS_SETTINGS, Stack, connect_hris, running_stack, wait_until
from emulators.entra.ad.runner import ldapsearch_hint
from emulators.hris.testing import HrisEmulator

console = Console(width=None if Console().is_terminal else 130)

# 17:50 in Berlin on 1 December 2026: the leaver's last day ends in ten (scaled) minutes.
DEMO_CLOCK_START = datetime(2026, 12, 1, 16, 50, tzinfo=UTC)
EMULATOR_DELAYS = {"agentDelaySeconds": 1.0, "logDelaySeconds": 2.0, "syncDelaySeconds": 3.0}
"""Real seconds; in scaled time (x120) the provisioning log arrives ~4 minutes and Connect sync ~6 minutes late."""

TENANT: list[tuple[str, dict[str, Any]]] = [
    (
        "synced",
        {
            "employeeId": "E00007",
            "userPrincipalName": "maria.schmidt@contoso.com",
            "mail": "maria.schmidt@contoso.com",
            "givenName": "Maria",
            "surname": "Schmidt",
            "displayName": "Maria Schmidt",
            "jobTitle": "Head of Finance",
            "department": "Finance",
        },
    ),
    (
        "synced",
        {
            "employeeId": "E00008",
            "userPrincipalName": "lee.chen@contoso.com",
            "mail": "lee.chen@contoso.com",
            "givenName": "Lee",
            "surname": "Chen",
            "displayName": "Lee Chen",
            "jobTitle": "Controller",
            "department": "Controlling",
        },
    ),
    # Someone else already carries the natural name of the new hire.
    (
        "synced",
        {
            "employeeId": "E04711",
            "userPrincipalName": "zoe.obrien-muller@contoso.com",
            "mail": "zoe.obrien-muller@contoso.com",
            "givenName": "Zoe",
            "surname": "O'Brien-Muller",
            "displayName": "Zoe O'Brien-Muller (Sales)",
            "department": "Sales",
        },
    ),
    (
        "synced",
        {
            "employeeId": "E20001",
            "userPrincipalName": "jordan.miller@contoso.com",
            "mail": "jordan.miller@contoso.com",
            "givenName": "Jordan",
            "surname": "Miller",
            "displayName": "Jordan Miller",
            "jobTitle": "Analyst",
            "department": "Finance",
            "manager": "E00007",
        },
    ),
    (
        "synced",
        {
            "employeeId": "E30001",
            "userPrincipalName": "sam.taylor@contoso.com",
            "mail": "sam.taylor@contoso.com",
            "givenName": "Sam",
            "surname": "Taylor",
            "displayName": "Sam Taylor",
            "jobTitle": "Accountant",
            "department": "Finance",
            "manager": "E00007",
        },
    ),
]

EVENTS: list[dict[str, Any]] = [
    {
        "eventId": "wd-2026-000123",
        "type": "hire",
        "effectiveDate": "2026-12-03",
        "occurredAt": "2026-11-20T09:14:00Z",
        "employee": {
            "employeeId": "E10042",
            "givenName": "Zoë",
            "familyName": "O'Brien-Müller",
            "preferredGivenName": "Zoe",
            "jobTitle": "Financial Analyst",
            "department": "Finance",
            "division": "Corporate",
            "costCenter": "CC-4410",
            "companyName": "Contoso Ltd",
            "employeeType": "Employee",
            "managerEmployeeId": "E00007",
            "officeLocation": "Berlin HQ",
            "city": "Berlin",
            "postalCode": "10115",
            "country": "DE",
            "usageLocation": "DE",
            "mobilePhone": "+49 151 0000000",
            "personalEmail": "zoe.obrien@example.org",
            "timeZone": "Europe/Berlin",
            "preferredLanguage": "de-DE",
            "attributes": {"HireReason": "NewPosition"},
        },
    },
    {
        "eventId": "wd-2026-000124",
        "type": "update",
        "occurredAt": "2026-11-30T15:00:00Z",
        "employee": {
            "employeeId": "E20001",
            "jobTitle": "Senior Analyst",
            "department": "Controlling",
            "managerEmployeeId": "E00008",
            "timeZone": "Europe/Berlin",
        },
    },
    {
        "eventId": "wd-2026-000125",
        "type": "termination",
        "effectiveDate": "2026-12-01",
        "occurredAt": "2026-11-15T10:00:00Z",
        "employee": {"employeeId": "E30001", "timeZone": "Europe/Berlin"},
    },
]


def seed(stack: Stack) -> None:
    """Seed the demo tenant once (a restarted `make serve` keeps its state)."""
    known = {user.get("employeeId") for user in stack.entra.control.state()["adUsers"]}
    for where, user in TENANT:
        if user["employeeId"] not in known:
            stack.entra.control.seed_user(where, **user)


def progress_table(rows: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="HR events", expand=True)
    for column in ("event", "type", "employee", "stage", "user principal name", "detail"):
        table.add_column(column)
    for event_id, row in rows.items():
        stage = row.get("stage", "accepted")
        style = {"completed": "green", "failed": "red", "scheduled": "yellow"}.get(stage, "cyan")
        table.add_row(
            event_id,
            row.get("type", ""),
            row.get("employeeId", ""),
            f"[{style}]{stage}[/]",
            row.get("userPrincipalName", ""),
            (row.get("detail") or "")[:60],
        )
    return table


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="hr-demo-") as workdir,
        running_stack(
            Path(workdir),
            time_scale=args.time_scale,
            clock_start=DEMO_CLOCK_START,
            entra_config=EMULATOR_DELAYS,
            settings=HRIS_SETTINGS,
        ) as stack,
        HrisEmulator(stack.entra) as hris,
    ):
        seed(stack)
        connect_hris(stack, hris)
        console.print(
            Panel.fit(
                f"Entra emulator on https://127.0.0.1:{stack.entra.port} (proxy {stack.entra.proxy_port}); "
                f"functions host on {stack.host.base_url}; "
                f"clock {DEMO_CLOCK_START:%Y-%m-%d %H:%M} UTC running x{args.time_scale:g}",
                title="HR provisioning demo",
            )
        )
        instances: dict[str, str] = {}
        for event in EVENTS:
            response = stack.post_event(event)
            console.print(f"POST /api/hr-events {event['type']:<11} {event['eventId']} -> {response.status_code}")
            response.raise_for_status()
            instances[event["eventId"]] = response.json()["id"]
        instances.update(hire_in_bamboohr(hris))
        rows: dict[str, dict[str, Any]] = {event_id: {} for event_id in instances}
        deadline = time.monotonic() + args.timeout
        with Live(progress_table(rows), console=console, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                done = 0
                for event_id, instance_id in instances.items():
                    rows[event_id] = stack.status(instance_id)
                    done += rows[event_id]["runtimeStatus"] in ("Completed", "Failed", "Terminated")
                live.update(progress_table(rows))
                if done == len(instances):
                    break
                time.sleep(0.25)
        summary(stack, rows, time.monotonic() - started)
        bamboohr_summary(hris)
        failed = [event_id for event_id, row in rows.items() if row.get("stage") != "completed"]
        if failed:
            console.print(f"[red]Not completed: {', '.join(failed)}[/]")
            return 1
    return 0


BAMBOOHR_HIRE = {
    "firstName": "Åsa",
    "lastName": "Lindqvist",
    "jobTitle": "Payroll Specialist",
    "department": "Finance",
    "location": "Berlin HQ",
    "country": "Germany",
    "homeEmail": "asa.lindqvist@example.org",
    "hireDate": "2026-12-07",
    "supervisorId": "E00007",
}


def hire_in_bamboohr(hris: HrisEmulator) -> dict[str, str]:
    """HR enters a new hire in (emulated) BambooHR, which posts its signed webhooks to the app."""
    hris.control.put_employee("bamboohr", "E00007", firstName="Maria", lastName="Schmidt", hireDate="2019-04-01")
    hris.control.put_employee("bamboohr", "4711", notify="created", **BAMBOOHR_HIRE)
    state = wait_until(
        lambda: (
            (s := hris.control.state("bamboohr"))["deliveries"]
            and all(d["status"] != "queued" for d in s["deliveries"])
            and s
        ),
        30,
    )
    runs: dict[str, str] = {}
    for delivery in state["deliveries"]:
        attempt = delivery["attempts"][-1]
        answer = json.loads(attempt.get("response") or "{}")
        console.print(
            f"BambooHR webhook {delivery['kind']:<16} employee 4711 -> {attempt['status']} {answer.get('status', '')}"
        )
        for run in answer.get("accepted", []):
            runs[f"bamboohr:{delivery['kind']}"] = run["id"]
    return runs


def bamboohr_summary(hris: HrisEmulator) -> None:
    state = hris.control.state("bamboohr")
    table = Table(title="Written back to BambooHR (after the hire was provisioned)")
    for column in ("employee", "field", "value"):
        table.add_column(column)
    for writeback in state["writebacks"]:
        for field, value in writeback["fields"].items():
            table.add_row(writeback["employeeId"], field, str(value))
    fetches = sum(1 for call in state["calls"] if call["operation"] == "fetch")
    console.print(table)
    console.print(f"{fetches} BambooHR API fetch(es) through the proxy to api.bamboohr.com.")


def summary(stack: Stack, rows: dict[str, dict[str, Any]], seconds: float) -> None:
    state = stack.entra.control.state()
    where = "read over LDAPS from the Samba domain controller" if stack.directory else "the emulator's in-memory AD"
    ad = Table(title=f"On-prem Active Directory (written by the provisioning agent; {where})")
    for column in ("employeeID", "sAMAccountName", "userPrincipalName", "title", "department", "enabled", "DN"):
        ad.add_column(column)
    for user in sorted(state["adUsers"], key=lambda u: str(u.get("employeeId"))):
        ad.add_row(
            str(user.get("employeeId") or ""),
            str(user.get("onPremisesSamAccountName") or ""),
            str(user.get("userPrincipalName")),
            str(user.get("jobTitle") or ""),
            str(user.get("department") or ""),
            "yes" if user.get("accountEnabled") else "[red]no[/]",
            str(user.get("distinguishedName") or ""),
        )
    entra = Table(title="Entra ID (after Entra Connect sync)")
    for column in ("employeeId", "userPrincipalName", "manager", "synced", "enabled"):
        entra.add_column(column)
    for user in sorted(state["entraUsers"], key=lambda u: str(u.get("employeeId"))):
        if not user.get("employeeId"):
            continue
        entra.add_row(
            str(user["employeeId"]),
            str(user.get("userPrincipalName")),
            str(user.get("manager") or ""),
            "yes" if user.get("onPremisesSyncEnabled") else "no",
            "yes" if user.get("accountEnabled") else "[red]no[/]",
        )
    mails = Table(title="Emails sent (Graph sendMail)")
    for column in ("to", "cc", "subject"):
        mails.add_column(column)
    for mail in state["outbox"]:
        message = mail.get("message", mail)
        to = ", ".join(r["emailAddress"]["address"] for r in message.get("toRecipients", []))
        cc = ", ".join(r["emailAddress"]["address"] for r in message.get("ccRecipients", []))
        mails.add_row(to, cc, str(message.get("subject", "")))
    results = Table(title="Outcomes")
    for column in ("event", "outcome", "details"):
        results.add_column(column)
    for event_id, row in rows.items():
        output = row.get("output") or {}
        details = {
            k: output[k]
            for k in ("userPrincipalName", "samAccountName", "managerChanged", "sessionsRevoked")
            if k in output
        }
        if output.get("credential"):
            details["firstCredential"] = output["credential"].get("method")
        results.add_row(
            event_id,
            str(output.get("outcome") or row.get("stage")),
            ", ".join(f"{k}={v}" for k, v in details.items()) or str(row.get("error") or ""),
        )
        for warning in output.get("warnings", []):
            results.add_row("", "[yellow]warning[/]", warning)
    bulk_calls = sum(1 for call in state["calls"] if call["path"].endswith("/bulkUpload"))
    console.print(Group(results, ad, entra, mails))
    console.print(
        f"{bulk_calls} bulkUpload call(s), {len(state['provisioningLogs'])} provisioning log entries, "
        f"{len(state['temporaryAccessPasses'])} Temporary Access Pass(es) issued and mailed (never shown here). "
        f"Finished in {seconds:.1f} s."
    )
    if stack.directory is not None:
        console.print(
            "The Samba directory stops with the demo: `make serve AD=samba` keeps one up and prints the ldapsearch "
            "line to look at it; `make ad-shell` starts an empty one."
        )


def run_serve(args: argparse.Namespace) -> int:
    workdir = Path(args.state_dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    mapped = {"MAPPED_WEBHOOK_MAPPING_FILE": "examples/mappings/successfactors.yaml"}
    with (
        running_stack(
            workdir,
            time_scale=args.time_scale,
            entra_config=EMULATOR_DELAYS,
            port=args.port,
            settings={**HRIS_SETTINGS, **mapped, **dict(args.setting)},
        ) as stack,
        HrisEmulator(stack.entra, port=args.hris_port) as hris,
    ):
        seed(stack)
        connect_hris(stack, hris)
        hris.control.put_employee("bamboohr", "E00007", firstName="Maria", lastName="Schmidt", hireDate="2019-04-01")
        console.print(f"API:            {stack.api}  (x-functions-key: {FUNCTION_KEY})")
        console.print(f"Mapped webhook: {stack.api}/hris/mapped  (examples/mappings/successfactors.yaml)")
        console.print(f"Status:         {stack.api}/hr-events/{{id}}")
        console.print(f"Health:         {stack.api}/health")
        state_url = f"https://127.0.0.1:{stack.entra.port}/_emulator/state"
        console.print(f"Entra emulator: {state_url}")
        console.print(f"  print it: curl -s --cacert {stack.entra.ca_path} {state_url} | python3 -m json.tool")
        console.print(
            f"Clock:          x{args.time_scale:g} (one real second is {args.time_scale:g} orchestration seconds)"
        )
        console.print(f"State:          {workdir}")
        console.print(f"HR systems:     {hris.base_url}/_emulator/hris/{{bamboohr,hibob,personio}}/state")
        start = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        console.print("Hire someone in BambooHR (it posts its signed webhooks to the app):")
        console.print(
            f"  curl --cacert {stack.entra.ca_path} -X PUT "
            f"'{hris.base_url}/_emulator/hris/bamboohr/employees/4712?notify=created' "
            "-H 'Content-Type: application/json' "
            f"""-d '{{"firstName":"Kim","lastName":"Berg","hireDate":"{start}","supervisorId":"E00007"}}'"""
        )
        if stack.directory is not None:
            console.print(f"AD (Samba):     {stack.directory.access.url}  base {stack.directory.access.base_dn}")
            console.print(ldapsearch_hint(stack.directory), soft_wrap=True)
        console.print("Environment of the app:")
        for key in ("HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "IDENTITY_ENDPOINT", "PROVISIONING_API_ENDPOINT"):
            console.print(f"  {key}={stack.settings[key]}")
        console.print("Press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping")
    return 0


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="keep the stack running (make serve)")
    parser.add_argument("--time-scale", type=float, default=120.0, help="orchestrator clock speed-up")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the events")
    parser.add_argument("--port", type=int, default=7071, help="functions host port for --serve")
    parser.add_argument("--state-dir", default=".state/serve", help="state folder for --serve")
    parser.add_argument("--hris-port", type=int, default=8445, help="HR systems emulator port for --serve")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        type=_setting,
        metavar="NAME=VALUE",
        help="an app setting for --serve (repeatable), e.g. HR_SIGNING_SECRET_NAME=hr-signing",
    )
    args = parser.parse_args()
    return run_serve(args) if args.serve else run_demo(args)


if __name__ == "__main__":
    raise SystemExit(main())
