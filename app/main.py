"""The FastAPI application: `create_app()` is the uvicorn factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api import errors, openapi
from app.api.limits import BodyGuardMiddleware
from app.api.middleware import RequestContextMiddleware
from app.api.routes import (
    catalog,
    chat,
    customers,
    decisions,
    events,
    experiments,
    health,
    journeys,
    keys,
    offers,
    preferences,
    search,
    slots,
    webhooks,
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
# Swagger UI and ReDoc bundles (MIT) shipped in the fastapi-offline wheel: the docs pages
# work on a machine without internet access.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

DESCRIPTION = """
Tailor personalizes a shop for each customer: a chat widget, recommendations that learn
from every reaction, and generated content.

**Auth**: send `Authorization: Bearer <key>` (or `X-API-Key: <key>`). Roles: `widget`
(public, per site: chat, events and recommendations for its own visitor, which it proves
with `X-Visitor-Token`), `marketer`, `developer`, `admin`.
A missing or unknown key gets **401**; a key whose role may not call an endpoint gets **403**.

**Errors** always look like `{"error": {"code", "message", "details", "request_id"}}`.
Bodies over an endpoint's limit get **413** as they arrive; writes without a valid key get
**401** before their body is read.
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
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    errors.install(app)
    # Innermost first: bodies are guarded before routing, unexpected errors become the
    # JSON 500 inside the request-id middleware (so it carries the id).
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(errors.UnhandledErrorMiddleware)
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
    for module in (catalog, search, chat, events, customers, preferences, keys,
                   offers, decisions, webhooks, experiments, slots, journeys):
        app.include_router(module.router, prefix="/v1")
    _mount_web(app)
    _mount_docs(app)
    openapi.install(app, [EventBatch, ChatIn, Item])
    return app


def _mount_docs(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}/docs-assets/{name}"

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} API",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"))

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} API",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon.png"), with_google_fonts=False)


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
        key = app.state.runtime.widget_key
        return HTMLResponse(page.read_text().replace("{{WIDGET_KEY}}", key))

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        path = WEB / "widget.js"
        if not path.exists():
            return Response("/* widget not installed */", media_type="text/javascript")
        return FileResponse(path, media_type="text/javascript")
