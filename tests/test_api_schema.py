"""Property tests of the API against its own OpenAPI document (Schemathesis): no 5xx, every answer as documented.

Schemathesis generates requests from the schema (valid incidents and batches
built from the parser's own limits, query values, and with and without the
key) and checks each real response: status documented, body matching the
documented schema (whose models forbid undocumented fields), content type,
headers, never a server error. Requests that break the schema are generated
too and must get a documented answer, but not necessarily a refusal: the
parser is deliberately lenient where a caller's software may be (numbers
written as text, ``null`` for an unknown vehicle), as the schema's
descriptions say, so Schemathesis's "negative data rejected" check is left out;
and a request the schema allows may still be refused (422) by a rule across
fields that JSON Schema cannot say (no more pedestrians than people, a date
that exists), so its "positive data accepted" check is left out too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api_support import api_under_test

_FOLDER = tempfile.TemporaryDirectory(prefix="gravite-api-schema-")  # removed when the module is unloaded
_API = api_under_test(Path(_FOLDER.name))
_API.app.state.api.start()  # what the lifespan does: load and warm up the model
_LENIENCY = [negative_data_rejection, positive_data_acceptance]
schema = schemathesis.openapi.from_asgi("/openapi.json", _API.app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_route_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=_API.auth(_API.admin), excluded_checks=_LENIENCY)


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_without_a_key_every_route_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": "Bearer grv_00000000_wrong"},
                          excluded_checks=_LENIENCY)
