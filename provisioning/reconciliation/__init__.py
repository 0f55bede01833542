"""Reconciliation: the pull that backs the HR event push.

A run reads the whole HR population (a connector's list API or an uploaded roster), reads the directory's users in
pages of 999, and computes the drift between them as a plan, one entry per employee with its reason. Applying the
plan turns each planned change into an ordinary HR event, so names, safeguards, logs and notifications work as for
any event. docs/reconciliation.md is the operator's guide.

- `population`, `drift`, `correlation`, `roster` and `report` are pure (no Azure SDK): they decide;
- `store` (durable entities), `activities`, `orchestrator`, `routes` and `timer` are the thin Durable Functions
  layers around them.

This package's `__init__` imports nothing, so the pure modules load without the Functions SDK.
"""
