"""Schemathesis against the app's own OpenAPI schema: every operation, valid and invalid inputs, sent with
the key of every role. No response may be a 5xx or break the documented schema (status code, content type,
body shape).

CODESUGGEST_FUZZ_EXAMPLES sets the examples per operation and generation mode (default 12, about 1,400
requests in about a minute; RELIABILITY.md has the long run). Each example is sent once per role.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from codesuggest.config import Settings
from codesuggest.service.app import create_app
from reliability_app import make_registry
from service_fakes import NOTE, ROLES, auth, make_keys, real_catalog

EXAMPLES = int(os.environ.get("CODESUGGEST_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    response_headers_conformance,
]
SENT: Counter[str] = Counter()
pytestmark = pytest.mark.slow  # about 1,400 requests, a minute or more


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    """The app (test-double models kw-1/kw-2, real catalogue) with its lifespan started, a key per role and
    a few notes with decisions, so reads and samples have data to return."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    keys = make_keys(url)
    registry = make_registry()
    app = create_app(
        Settings(data_dir=tmp, database_url=url), suggester_provider=lambda: registry.load("kw-1"),
        registry=registry, catalog=real_catalog,
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with get_client(app) as client:
        for _ in range(3):
            note = client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"])).json()
            sid = note["suggestions"][0]["suggestion_id"]
            client.post(f"/v1/notes/{note['note_id']}/decisions", headers=auth(keys["coder"]),
                        json={"decisions": [{"suggestion_id": sid, "action": "reject"}]})
        yield schema, client, keys


def operations():
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(), catalog=real_catalog))
    return [pytest.param(op.ok().label, id=op.ok().label) for op in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", operations())
def test_fuzz_operation_with_every_role(fuzz_target, label, mode):
    schema, client, keys = fuzz_target
    operation = schema.find_operation_by_label(label)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        for role in ROLES:
            response = case.call(session=client, headers=auth(keys[role]))
            SENT[role] += 1
            case.validate_response(response, checks=CHECKS)

    try:
        run()
    except schemathesis.errors.InvalidSchema:  # pragma: no cover - the schema is FastAPI's own
        raise
    except Exception as exc:
        if type(exc).__name__ == "Unsatisfiable" or "no way to generate negative" in str(exc).lower():
            pytest.skip(f"{label}: nothing to generate in {mode.value} mode")
        raise


def test_fuzz_request_count():
    """Runs after the fuzz tests in this module: how many requests they sent (RELIABILITY.md quotes it). Every
    example went to every role, and every operation ran at least one example per role."""
    total = sum(SENT.values())
    print(f"fuzz: {total} requests ({dict(SENT)}), {EXAMPLES} examples per operation and mode")
    if total == 0:
        pytest.skip("no fuzz test ran in this session")
    assert set(SENT) == set(ROLES)
    assert len(set(SENT.values())) == 1, f"roles were sent different numbers of examples: {dict(SENT)}"
    assert SENT[ROLES[0]] >= len(operations()), dict(SENT)
