"""schemathesis against the app's own OpenAPI spec: no 5xx, and every answer is what the spec says.

Each operation of /api/v1/openapi.json gets a bounded number of generated requests, valid and
invalid (schemathesis' positive and negative modes), with a fixed seed so a run is repeatable,
sent in-process over WSGI as each role: supervisor, inspector and enterprise. The database
holds a rectification loop under way (the `world` fixture), so some requests reach real rows.
The checks: never a server error, and status code, content type and body conform to the spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# tus PATCH bodies are raw bytes, sent like any other octet stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# Per operation, valid and invalid requests together; raise it for a deeper hunt, e.g.
# LANTIAN_FUZZ_EXAMPLES=500 pytest tests/server/test_api_schema_fuzz.py
EXAMPLES = int(os.environ.get("LANTIAN_FUZZ_EXAMPLES", "25"))
# The other roles read through the same parameter handling the supervisor's run already
# covers (only the scoping differs), so their reads get fewer examples: the module stays
# near a minute on two cores.
READ_EXAMPLES = max(1, EXAMPLES // 3)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class FreshContext:
    """Each request in its own app context, as in a real server (see FreshContextClient).

    The test holds an app context of its own; without this, every generated request would
    share it, with its database session and `g`.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.app.app_context():
            return self.app(environ, start_response)


@pytest.fixture(params=["supervisor", "inspector", "enterprise"])
def role(request: pytest.FixtureRequest) -> str:
    return request.param


def test_every_operation_keeps_to_its_spec(
    app: Flask, world: dict[str, Any], role: str, subtests: pytest.Subtests
) -> None:
    """Each operation is its own subtest; the world is built once per engine and role.

    (schemathesis' own pytest integration, `schema.parametrize()`, would build the world
    once per operation, and its lazy-fixture form does not run on pytest 9.2.)
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", FreshContext(app))
    headers = world["headers"][role]
    for result in schema.get_all_operations():
        operation = result.ok()
        if role != "supervisor" and operation.definition.raw.get("security") == []:
            continue  # public operations ignore the token: once (as supervisor) is enough
        with subtests.test(operation=operation.label):
            cases = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )

            reads = operation.method.upper() in ("GET", "HEAD", "OPTIONS")
            examples = READ_EXAMPLES if reads and role != "supervisor" else EXAMPLES

            @settings(
                max_examples=examples,
                derandomize=True,  # the same examples every run
                database=None,  # nothing remembered between runs (no .hypothesis directory)
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=cases)
            def requests_conform(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            requests_conform()
