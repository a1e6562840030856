"""Operations: ``GET /health``, ``GET /metrics`` (Prometheus) and ``GET /docs`` (Swagger UI from files installed
with the package, nothing from the internet; ``mount_docs_assets`` serves them at ``/docs/static``). None of
these needs an API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from warmstart.service.deps import AppState

router = APIRouter()


@router.get("/health")
def health(state: AppState) -> dict[str, Any]:
    store = state.store
    return {"status": "ok", "active_population": store.active_version(), "schema": store.revision()}


def mount_docs_assets(app: FastAPI) -> None:
    """Swagger UI's files, from the installed ``swagger_ui_bundle``, at ``/docs/static`` (no CDN)."""
    import swagger_ui_bundle
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")


@router.get("/docs", include_in_schema=False)
def docs() -> Response:
    """Interactive API docs from the assets ``mount_docs_assets`` serves."""
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/openapi.json", title="warmstart API",
                               swagger_js_url="/docs/static/swagger-ui-bundle.js",
                               swagger_css_url="/docs/static/swagger-ui.css",
                               swagger_favicon_url="/docs/static/favicon-32x32.png")


@router.get("/metrics")
def prometheus(state: AppState) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
