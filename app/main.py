"""The FastAPI application: `create_app()` is the uvicorn factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api import errors
from app.api.middleware import RequestContextMiddleware
from app.api.routes import (
    catalog,
    chat,
    customers,
    events,
    health,
    keys,
    preferences,
    search,
)
from app.bootstrap import shutdown, startup
from app.logging import configure_logging
from app.runtime import Runtime
from app.schemas.chat import ChatIn
from app.schemas.events import EventBatch
from app.settings import Settings, get_settings
from retrieval.catalog import Item

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
WEB = HERE / "web"
DEMO_IMAGES = HERE / "demo" / "images"

DESCRIPTION = """
Tailor personalizes a shop for each customer: a chat widget, recommendations that learn
from every reaction, and generated content.

**Auth**: send `Authorization: Bearer <key>`. Roles: `widget` (public, per site: chat,
events and recommendations for its own visitor), `marketer`, `developer`, `admin`.
A missing or unknown key gets **401**; a key whose role may not call an endpoint gets **403**.

**Errors** always look like `{"error": {"code", "message", "details", "request_id"}}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    rt = Runtime.build(settings)
    app.state.runtime = rt
    startup(rt)
    log.info("tailor ready", extra={"database": rt.engine.dialect.name})
    try:
        yield
    finally:
        shutdown(rt)
        rt.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="Tailor", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url="/redoc")
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(RequestContextMiddleware)
    if settings.cors_origins:
        # The widget calls the API from the shop's own pages: allow those origins, the
        # headers it sends, and let it read Retry-After on a 429.
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Visitor-Token",
                           "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID", "X-Visitor-Token-Refresh"],
            max_age=600)
    app.include_router(health.router)
    for module in (catalog, search, chat, events, customers, preferences, keys):
        app.include_router(module.router, prefix="/v1")
    _mount_web(app)
    _openapi_with_extra_models(app, [EventBatch, ChatIn, Item])
    return app


def _mount_web(app: FastAPI) -> None:
    if DEMO_IMAGES.is_dir():
        app.mount("/demo/images", StaticFiles(directory=DEMO_IMAGES), name="demo-images")
    if WEB.is_dir():
        app.mount("/static", StaticFiles(directory=WEB), name="web")

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        page = WEB / "store.html"
        if not page.exists():
            return RedirectResponse("/docs")
        key = app.state.runtime.extras.get("widget_key", "")
        return HTMLResponse(page.read_text().replace("{{WIDGET_KEY}}", key))

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        path = WEB / "widget.js"
        if not path.exists():
            return Response("/* widget not installed */", media_type="text/javascript")
        return FileResponse(path, media_type="text/javascript")


def _openapi_with_extra_models(app: FastAPI, models: list[Any]) -> None:
    """Routes that parse their body by hand (to reject events one by one) still document
    their schema: add those models to the components."""

    def custom() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            comps.update(js.pop("$defs", {}))
            comps[model.__name__] = js
        app.openapi_schema = schema
        return schema

    app.openapi = custom  # type: ignore[method-assign]
