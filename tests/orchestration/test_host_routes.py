"""Functions host emulator: route templates as Azure Functions (ASP.NET routing) matches them."""

from __future__ import annotations

import pytest

from emulators.functions_host.routes import RouteTemplate


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("orders/{id}", "orders/42", {"id": "42"}),
        ("orders/{id}", "ORDERS/42", {"id": "42"}),
        ("orders/{id}", "orders", None),
        ("orders/{id:int}", "orders/x1", None),
        ("orders/{id:int?}", "orders", {}),
        ("orders/{id:int?}", "orders/5", {"id": "5"}),
        (
            "orders/{id:guid}",
            "orders/7d444840-9dc0-11d1-b245-5ffdce74fad2",
            {"id": "7d444840-9dc0-11d1-b245-5ffdce74fad2"},
        ),
        ("orders/{id:guid}", "orders/nope", None),
        ("orders/{page=1}", "orders", {"page": "1"}),
        ("files/{*rest}", "files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("items/{code:alpha:minlength(2)}", "items/ab", {"code": "ab"}),
        ("items/{code:alpha:minlength(2)}", "items/a", None),
        ("items/{n:range(1,5)}", "items/6", None),
        ("items/{n:regex(^a\\d+$)}", "items/a12", {"n": "a12"}),
        ("people/{name}", "people/J%C3%BCrgen", {"name": "Jürgen"}),
        ("a/b", "a/b/c", None),
    ],
)
def test_route_matching(template, path, expected):
    assert RouteTemplate(template).match(path) == expected


def test_invalid_templates_are_rejected_when_the_app_loads():
    with pytest.raises(ValueError, match="optional parameters must come last"):
        RouteTemplate("a/{x?}/b")
    with pytest.raises(ValueError, match="unsupported route constraint"):
        RouteTemplate("a/{x:banana}")
