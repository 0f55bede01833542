"""Where HR data enters the product and becomes an `HrEvent`.

- `routes`: the vendor webhook routes `POST /api/hris/{bamboohr,hibob,personio}` (verify, de-duplicate, start).
- `bamboohr`, `hibob`, `personio`: one module per HR system: sender verification as the vendor documents it,
  payload parsing, the API client (fetch, list, writeback) and the mapper from the vendor's record to an event.
- `notifications`, `records`, `vendor_http`, `registry`: the vendor-agnostic pieces they share.
- `activities`: the fetch and writeback activities the `hris_notification` orchestration calls.

docs/connectors.md says what to configure in each HR system and which vendor facts are confirmed.
"""
