"""The product stack fixture, shared by every end-to-end module that drives the real app on both emulators."""

from tests.e2e.test_product import start_stack

__all__ = ["start_stack"]
