"""Where HR data enters the app and becomes an `HrEvent`.

HR systems rarely send our event JSON. The modules here take what they do send — a vendor's notification, a
document shaped by an integration the customer built, a roster row — verify the sender and turn it into the events
the workflows run.

- `routes`: the vendor webhook routes `POST /api/hris/{bamboohr,hibob,personio}` (verify, de-duplicate, start).
- `bamboohr`, `hibob`, `personio`: one module per HR system: sender verification as the vendor documents it,
  payload parsing, the API client (fetch, list, writeback) and the mapper from the vendor's record to an event.
- `notifications`, `records`, `vendor_http`, `connector`, `registry`: the vendor-agnostic pieces they share.
- `activities`: the fetch and writeback activities the `hris_notification` orchestration calls.
- `mapping` is the declarative mapping language, `mapped` the generic webhook that applies it.

docs/connectors.md says what to configure in each HR system; docs/mapping.md covers the mapped webhook.
"""
