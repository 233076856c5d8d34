"""The application: routes, errors as JSON, the token guard, the docs served from this host."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException

from vbcli import __version__
from vbcli.errors import VbError
from vbcli.store.ledger import Ledger
from vbcli.web import dashboard, routes_read, routes_write
from vbcli.web.errors import error_body, from_vb_error
from vbcli.web.guard import MAX_BODY, Guard
from vbcli.web.runs import Serving

DOC_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
# Only documents the scheme in OpenAPI (and the docs' Authorize button); Guard checks the token.
bearer = HTTPBearer(auto_error=False, description="The token that `vb serve` printed (or VB_TOKEN).")


def create_app(ledger: Ledger, token: str, *, max_body: int = MAX_BODY) -> FastAPI:
    """The API and the dashboard over `ledger`; every request needs `token`."""
    app = FastAPI(title="vb", version=__version__, docs_url=None, redoc_url=None,
                  description="The vb ledger over HTTP: the CLI's services, rules, keys and JSON shapes (SPEC §8.7).",
                  dependencies=[Depends(bearer)])
    app.state.serving = Serving(ledger)
    app.include_router(routes_read.router)
    app.include_router(routes_write.router)
    app.include_router(dashboard.router)
    _docs(app, token)
    _error_handlers(app)
    app.add_middleware(Guard, token=token, max_body=max_body)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VbError)
    async def vb_error(_request: Request, error: VbError) -> JSONResponse:
        status, body = from_vb_error(error)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(2, _validation_sentence(error.errors())), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 404:
            body = error_body(3, "No such endpoint; see /docs for the API.")
        elif error.status_code == 405:
            body = error_body(2, "This endpoint does not take that method; see /docs.")
        else:
            body = error_body(2, str(error.detail))
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))


def _validation_sentence(errors: Any) -> str:
    """The first problem of a request as one sentence: where, and what."""
    first = list(errors)[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    return f"{where or 'The request'}: {message.rstrip('.')}."


def _docs(app: FastAPI, token: str) -> None:
    """/docs: Swagger UI from the files of the fastapi-offline package, never a CDN."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        query = f"?token={token}"
        return get_swagger_ui_html(openapi_url=f"/openapi.json{query}", title="vb API",
                                   swagger_js_url=f"/docs/assets/swagger-ui-bundle.js{query}",
                                   swagger_css_url=f"/docs/assets/swagger-ui.css{query}",
                                   swagger_favicon_url="data:,")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in DOC_ASSETS:
            return JSONResponse(error_body(3, f"No docs asset {name[:40]!r}."), status_code=404)
        data = (resources.files("fastapi_offline") / "static" / name).read_bytes()
        return Response(data, media_type=DOC_ASSETS[name], headers={"Cache-Control": "no-store"})
