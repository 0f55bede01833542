"""Azure Functions entry point: one Durable Functions app with the product's blueprints registered.

Importing this module must succeed with no app settings present (the host indexes functions first); settings
are validated lazily, on the first request or activity, and reported by /api/health.
"""

import azure.durable_functions as df
import azure.functions as func

from provisioning import activities, entities, retention, safeguards, sync_watch, watching, workflows
from provisioning.intake import activities as intake_activities
from provisioning.intake import hr_api, mapped, replay
from provisioning.intake import routes as intake_routes
from provisioning.reconciliation import activities as reconciliation_activities
from provisioning.reconciliation import orchestrator as reconciliation_orchestrator
from provisioning.reconciliation import routes as reconciliation_routes
from provisioning.reconciliation import store as reconciliation_store
from provisioning.reconciliation import timer as reconciliation_timer

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    *hr_api.blueprints,
    mapped.bp,
    intake_routes.bp,
    reconciliation_routes.bp,
    reconciliation_orchestrator.bp,
    reconciliation_activities.bp,
    reconciliation_store.bp,
    reconciliation_timer.bp,
    workflows.bp,
    activities.bp,
    intake_activities.bp,
    entities.bp,
    sync_watch.bp,
    watching.bp,
    safeguards.bp,
    replay.bp,
    retention.bp,
):
    app.register_functions(blueprint)
mapped.check_mapping_at_startup()
