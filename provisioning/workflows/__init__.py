"""Orchestrators, one module per workflow (product.md §4). Importing the package registers them on `bp`."""

from provisioning.workflows import batch, hr_event, hris_intake, uploader
from provisioning.workflows.blueprint import bp

__all__ = ["batch", "bp", "hr_event", "hris_intake", "uploader"]
