"""The orchestrators' blueprint; each workflow module registers its orchestrator on it."""

import azure.durable_functions as df

bp = df.Blueprint()
