"""The OpenAPI document is complete enough to generate a client from: every body
and JSON response has a schema and an example, every error points to the real
error shape, and the request examples are accepted by the real service."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from nba.api import schemas
from nba.api.app import create_app
from nba.settings import Settings

from .conftest import Server

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
BODIES = {
    ("post", "/v1/decisions"),
    ("post", "/v1/decisions/batch"),
    ("post", "/v1/events"),
    ("put", "/v1/customers/{customer_id}"),
    ("put", "/v1/catalog"),
    ("put", "/v1/guardrails"),
    ("put", "/v1/goal"),
    ("post", "/v1/guardrails/dry-run"),
    ("post", "/v1/keys"),
    ("post", "/v1/model/promote"),
    ("post", "/v1/admin/learn"),
}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document, as ``GET /openapi.json`` serves it."""
    db = tmp_path_factory.mktemp("openapi") / "nba.db"
    app = create_app(
        Settings(database_url=f"sqlite:///{db}"), learn_interval=0, champion_lookup=False
    )
    with TestClient(app) as client:
        r = client.get("/openapi.json")
    assert r.status_code == 200, r.text
    document: dict[str, Any] = r.json()
    return document


@pytest.fixture
def client(tmp_path: Path, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The real app in process, with the admin key."""
    key = admin_headers["Authorization"].removeprefix("Bearer ")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=key)
    with TestClient(create_app(settings, learn_interval=0, champion_lookup=False)) as c:
        c.headers.update(admin_headers)
        yield c


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method, path, op


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def examples_of(doc: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples of a media type: its own, then its schema's (through ``$ref`` and
    ``anyOf``, as for an optional body)."""
    found = [e["value"] for e in media.get("examples", {}).values()]
    if "example" in media:
        found.append(media["example"])
    schema = media.get("schema", {})
    for s in (schema, *schema.get("anyOf", ())):
        found += resolve(doc, s).get("examples", [])
    return found


def model_of(schema: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model in nba.api.schemas that a ``$ref`` names."""
    model: type[BaseModel] = getattr(schemas, schema["$ref"].rsplit("/", 1)[-1])
    return model


def test_every_operation_that_needs_a_key_documents_401_and_403(doc: dict[str, Any]) -> None:
    open_ops = {(m, p) for m, p, op in operations(doc) if not op.get("security")}
    assert open_ops == {("get", "/healthz"), ("get", "/metrics")}
    keyed = [(m, p, op) for m, p, op in operations(doc) if op.get("security")]
    assert len(keyed) == 19
    for method, path, op in keyed:
        for status in ("401", "403"):
            response = op["responses"].get(status)
            assert response is not None, (method, path, status)
            assert response["content"]["application/json"]["schema"] == ERROR_REF, (method, path)
    assert "WWW-Authenticate" in doc["paths"]["/v1/events"]["post"]["responses"]["401"]["headers"]


def test_every_error_points_to_the_real_error_shape(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(doc)
    assert "ValidationError" not in doc["components"]["schemas"]
    with_404 = set()
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if status.startswith("4"):
                assert response["content"]["application/json"]["schema"] == ERROR_REF, (
                    method,
                    path,
                    status,
                )
                assert response["description"] not in ("", "Not Found", "Validation Error")
                with_404 |= {(method, path)} if status == "404" else set()
    assert with_404 == {
        ("get", "/v1/decisions/{decision_id}"),
        ("get", "/v1/customers/{customer_id}"),
        ("delete", "/v1/keys/{key_id}"),
    }
    error = doc["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["detail"]
    assert error["properties"]["detail"]["type"] == "string"
    assert error["properties"]["errors"]["type"] == "array"


def test_every_request_body_has_a_schema_and_an_example(doc: dict[str, Any]) -> None:
    bodies = {(m, p): op["requestBody"] for m, p, op in operations(doc) if "requestBody" in op}
    assert set(bodies) == BODIES
    for (method, path), body in bodies.items():
        media = body["content"]["application/json"]
        schema = media["schema"]
        assert "$ref" in schema or "anyOf" in schema or schema.get("type") == "object", path
        assert examples_of(doc, media), (method, path)
        if "$ref" not in schema and "anyOf" not in schema:  # the configuration documents
            assert schema.get("description"), (method, path)


def test_every_json_response_has_a_schema_and_an_example(doc: dict[str, Any]) -> None:
    checked = 0
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            content = response["content"]
            if path == "/metrics":  # Prometheus text
                assert content["text/plain"]["example"]
                continue
            media = content["application/json"]
            assert "$ref" in media["schema"], (method, path, "no response model")
            assert examples_of(doc, media), (method, path, status)
            checked += 1
    assert checked == 19


def test_documented_examples_fit_their_models(doc: dict[str, Any]) -> None:
    """Each component's examples validate against the pydantic model of that name."""
    seen = 0
    for name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            getattr(schemas, name).model_validate(example)
            seen += 1
    for _method, _path, op in operations(doc):
        for response in op["responses"].values():
            media = response.get("content", {}).get("application/json", {})
            if "example" in media:
                model_of(media["schema"]).model_validate(media["example"])
                seen += 1
    assert seen > 30


def test_request_examples_are_accepted_by_the_service(
    start_server: Callable[..., Server], admin_headers: dict[str, str]
) -> None:
    server = start_server()
    with httpx2.Client(base_url=server.url, headers=admin_headers, timeout=30) as http:
        live = http.get("/openapi.json").json()
        sent = 0
        for method, path, op in operations(live):
            if "requestBody" not in op:
                continue
            media = op["requestBody"]["content"]["application/json"]
            ok = next(s for s in op["responses"] if s.startswith("2"))
            for example in examples_of(live, media):
                url = re.sub(r"\{[^}]+\}", "c42", path)
                r = http.request(method.upper(), url, json=example)
                assert r.status_code == int(ok), (method, path, example, r.text)
                documented = op["responses"][ok]["content"]["application/json"]["schema"]
                model_of(documented).model_validate(r.json())  # the answer has the documented shape
                sent += 1
    assert sent == len(BODIES)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"customer_id": "c1",}',
            "Expecting property name enclosed in double quotes at line 1, column 22",
        ),
        (
            b'{\n  "customer_id": "c1"\n  "trigger": "x"\n}',
            "Expecting ',' delimiter at line 3, column 3",
        ),
    ],
)
def test_malformed_json_says_where(client: TestClient, body: bytes, reason: str) -> None:
    r = client.post("/v1/decisions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"request body: invalid JSON ({reason})"
    error = schemas.ErrorOut.model_validate(r.json())
    assert [e.type for e in error.errors] == ["json_invalid"]
