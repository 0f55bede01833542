"""The workflow tests' host and scripted-tenant fixtures, shared by every module of this tier."""

from tests.orchestration.test_workflows import host, make_host, tenant

__all__ = ["host", "make_host", "tenant"]
