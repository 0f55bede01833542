"""The HR-facing HTTP API (docs/design.md, "HTTP API"): submit, batch, status, list, preview, rescind, approve,
health.

Every route needs the function key (the app's auth level is FUNCTION) and, with signing on, the HR signature
(`provisioning.intake.request_auth`); health answers the verdict only, its details need the admin key. Bad input is
answered with an RFC 9457 problem naming the field and never reaches Graph; once an event is accepted it is a
durable orchestration, so it cannot be lost. The Durable management URLs carry the system key and are never
returned.

- `submission`: POST /hr-events and /hr-events/batch, and `start_event`/`start_batch` every intake path uses;
- `preview`: POST /hr-events/preview; `status`: GET /hr-events and /hr-events/{id};
- `decisions`: rescind (DELETE /hr-events/{id}) and approve (POST /hr-events/{id}/approve);
- `health`: GET /health and /health/details;
- `runs` reads a run's stage from its Durable status, `messages` reads requests and writes responses.
"""

from provisioning.intake.hr_api import decisions, health, preview, status, submission

# In the order the routes were always registered: the literal routes (batch, preview) before {id}.
blueprints = (submission.bp, preview.bp, status.bp, decisions.bp, health.bp)

__all__ = ["blueprints"]
