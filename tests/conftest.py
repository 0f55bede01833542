"""Shared pytest set-up. Each component's fixtures live in their own plugin module under tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.entra",
    "tests.fixtures.functions_host",
    "tests.fixtures.hris",
    "tests.fixtures.samba",
]
