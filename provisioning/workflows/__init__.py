"""Orchestrators, one module per workflow (docs/design.md, "Workflows"), and the employee record entity.
Importing the package registers them on `bp`."""

from provisioning.workflows import batch, employee_record, hr_event, hris_intake, sync_watcher, uploader
from provisioning.workflows.blueprint import bp

__all__ = ["batch", "bp", "employee_record", "hr_event", "hris_intake", "sync_watcher", "uploader"]
