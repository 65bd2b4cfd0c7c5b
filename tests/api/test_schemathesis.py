"""Schemathesis over the whole JSON API of docs/openapi.yaml, in-process through WSGI.

Every operation of the spec is fuzzed with valid and with invalid data, logged in as a
trainee who owns a unit, a completed plan and a certificate (so ids 1.. reach real rows and
the 200 schemas are checked too). The checks: no 5xx, only documented status codes and
content types, and bodies that match the documented schemas. New routes are covered as soon
as they are in the spec (tests/api/test_openapi.py makes sure they are).

The run is bounded (MAX_EXAMPLES per operation and mode) so `make test` stays short; set
WXAPP_FUZZ_EXAMPLES to fuzz harder locally.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from models import db
from tests.factories import make_enrollment, make_plan, make_trainee, make_unit, make_unit_admin

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("WXAPP_FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

SCHEMA = schemathesis.openapi.from_path(str(SPEC))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# Invalid data needs something to spoil: operations without parameters or body get only the
# valid mode (Hypothesis would find the negative strategy empty).
CASES = [
    pytest.param(op, mode, id=f"{op.label}-{mode.value}")
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or op.path_parameters or op.query or op.body
]


@pytest.fixture
def session_cookie(app) -> str:
    """The session cookie of a trainee with something to show on every read route."""
    with app.app_context():
        unit = make_unit()
        trainee = make_trainee(unit=unit)
        plan = make_plan(required_hours=60)
        make_enrollment(trainee, plan, hours="60")
        make_unit_admin(trainee, unit)
        db.session.commit()
        phone, plan_id = trainee.phone, plan.id
    client = app.test_client()
    assert (
        client.post("/api/login", json={"username": phone, "password": "Passw0rd!"}).status_code
        == 200
    )
    assert client.post(f"/api/plans/{plan_id}/certificate").status_code == 201
    return client.get_cookie("wxapp_session").value


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_operation_conforms_to_the_spec(app, session_cookie, operation, mode):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        # Whatever the case did (logout, new password, unbind), the signed cookie stays valid.
        response = case.call_and_validate(
            app=app, cookies={"wxapp_session": session_cookie}, checks=CHECKS
        )
        statuses.add(response.status_code)
        # Keep the per-address login limit from turning every later case into a 429.
        app.extensions["redis"].delete("rl:login:127.0.0.1")

    statuses: set[int] = set()
    fuzz()
    if operation.definition.raw.get("security") != []:
        assert 401 not in statuses, "the session cookie did not get the fuzzer past the login"
