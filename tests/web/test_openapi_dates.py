"""The OpenAPI document says which dates a request may carry: the server refuses a date outside
1900-2100 in every body (workflows/models.py `Day`), so a date the document allows is one the
server takes (schemathesis found `"date": "0391-08-02"` valid by the document and refused). Dates
read back (a plan's status, an event) are not bounded: an older plan's are shown as accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.web.test_openapi_webhooks import openapi_document
from workflows import models as m
from workflows.plan_rules.incidents import ReportDeath


def _dates(node: Any, path: str, found: list[tuple[str, dict[str, Any]]]) -> None:
    if isinstance(node, dict):
        if node.get("format") == "date":
            found.append((path, node))
        for key, value in node.items():
            _dates(value, f"{path}/{key}", found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _dates(value, f"{path}/{i}", found)


def _request_schemas(doc: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in doc["paths"].values():
        for op in item.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                names.add(media["schema"]["$ref"].rsplit("/", 1)[1])
    return names


def test_every_date_a_request_carries_is_bounded_as_the_server_bounds_it(tmp_path: Path) -> None:
    doc = openapi_document(tmp_path)
    schemas = doc["components"]["schemas"]
    requests = _request_schemas(doc)
    assert {"PlanStart", "RecordVisitRequest", "ReportDeathRequest"} <= requests
    found: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(requests):
        _dates(schemas[name], name, found)
    assert len(found) >= 15, found  # the start's dates and every message's
    first, last = f"{m.FIRST_YEAR}-01-01", f"{m.LAST_YEAR}-12-31"
    before, after = f"{m.FIRST_YEAR - 1}-12-31", f"{m.LAST_YEAR + 1}-01-01"
    for path, schema in found:
        check = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert check.is_valid(first) and check.is_valid(last), path
        assert not check.is_valid(before) and not check.is_valid(after), path
        assert not check.is_valid("0391-08-02") and not check.is_valid("3950-03-27"), path
    # The same years as the server reads a message: the edges taken, a day past them refused.
    assert m.parse(ReportDeath, {"date": first}).date.isoformat() == first
    assert m.parse(ReportDeath, {"date": last}).date.isoformat() == last
    for refused in (before, after):
        with pytest.raises(m.Refusal, match=m.DATE_RANGE):
            m.parse(ReportDeath, {"date": refused})


def test_dates_read_back_are_not_bounded(tmp_path: Path) -> None:
    schemas = openapi_document(tmp_path)["components"]["schemas"]
    found: list[tuple[str, dict[str, Any]]] = []
    _dates(schemas["PlanStatus"], "PlanStatus", found)
    assert found and all("pattern" not in schema for _, schema in found), found
