"""Where HR data enters the app and becomes an `HrEvent`.

Some HR systems send our event JSON to the HR event API; most do not. The modules here also take what they do
send — a vendor's notification, a document shaped by an integration the customer built, a roster row — verify the
sender and turn it into the events the workflows run.

- `hr_api`: the HR event API (`/api/hr-events...`, `/api/health`) for HR systems that send our event JSON, with
  what guards every route here: `signing` (the X-HR-Signature scheme and its CLI), `request_auth` (body limit,
  signature, approver check), `replay` (signed requests remembered in the task hub) and `problems` (RFC 9457
  answers); `event_listing` parses and pages the event listing.
- `routes`: the vendor webhook routes `POST /api/hris/{bamboohr,hibob,personio}` (verify, de-duplicate, start).
- `bamboohr`, `hibob`, `personio`: one module per HR system: sender verification as the vendor documents it,
  payload parsing, the API client (fetch, list, writeback) and the mapper from the vendor's record to an event.
- `notifications`, `records`, `vendor_http`, `connector`, `registry`: the vendor-agnostic pieces they share.
- `activities`: the fetch and writeback activities the `hris_notification` orchestration calls.
- `mapping` is the declarative mapping language, `mapped` the generic webhook that applies it.

docs/connectors.md says what to configure in each HR system; docs/mapping.md covers the mapped webhook.
"""
