"""App skeleton: probes, metrics, request ids, JSON logs, OpenAPI."""

from __future__ import annotations

import json
import logging
from typing import Any

from app.logging import JsonFormatter, request_id_var


def test_probes_and_metrics(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    client.get("/v1/items")
    body = client.get("/metrics").text
    assert "tailor_http_requests_total" in body and 'route="/v1/items"' in body


def test_request_id_is_echoed_or_generated(client: Any) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    # A hostile id is replaced, not echoed.
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers[
        "x-request-id"] != "<script>"


def test_json_log_lines_carry_request_id() -> None:
    token = request_id_var.set("rid-1")
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        record.status = 200
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "hello x" and line["request_id"] == "rid-1" and line["status"] == 200


def test_openapi_documents_versioned_routes_with_examples(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/v1/items", "/v1/events", "/v1/identify", "/v1/customers/{customer_id}/export",
                 "/v1/keys"]:
        assert path in paths
    events_body = paths["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert events_body["schema"]["$ref"].endswith("/EventBatch")
    assert spec["components"]["schemas"]["EventIn"]["examples"]
    assert spec["components"]["schemas"]["IdentifyIn"]["examples"]
    assert client.get("/docs").status_code == 200


def test_unknown_route_and_method_use_error_shape(client: Any) -> None:
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.patch("/v1/items")
    assert r.status_code == 405


def test_cors_for_shops_that_embed_the_widget(app_factory: Any, sqlite_url: str) -> None:
    shop = "https://shop.example.com"
    client = app_factory(sqlite_url, cors_origins=[shop])
    pre = client.options("/v1/chat", headers={
        "Origin": shop, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-visitor-token"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == shop
    assert "x-visitor-token" in pre.headers["access-control-allow-headers"].lower()
    r = client.get("/v1/items", headers={"Origin": shop})
    assert r.headers["access-control-allow-origin"] == shop
    assert "retry-after" in r.headers["access-control-expose-headers"].lower()
    other = client.get("/v1/items", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
