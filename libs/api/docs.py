"""The API docs page of each service (`/docs/<service>`): Swagger UI 5 from an installed package, never a CDN.

The assets come from the `fastapi-offline` wheel (Swagger UI 5 renders the OpenAPI 3.1 FastAPI writes; the
`swagger-ui-bundle` wheel's 4.x does not). They are served under `/docs/<service>/assets/`, so the gateway
routes them with the page (deploy/nginx/nginx.conf, k8s/base/ingress.yaml). The page starts Swagger UI from a
file, not an inline script, so its Content-Security-Policy allows scripts from this host only."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from libs.api.problems import Problem

_PACKAGED = Path(str(files("fastapi_offline") / "static"))
_OWN = Path(__file__).parent / "static"
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_PACKAGED / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (_PACKAGED / "swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": (_PACKAGED / "favicon.png", "image/png"),
    "swagger-init.js": (_OWN / "swagger-init.js", "text/javascript; charset=utf-8"),
}
# Scripts, styles and the document from this host; Swagger UI's icons are data: URIs in its CSS; never framed.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_HEADERS = {"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"}


def docs_page(name: str, title: str, openapi_url: str) -> str:
    assets = f"/docs/{name}/assets"
    return (
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} · 接口文档</title>\n"
        f'<link rel="icon" type="image/png" href="{assets}/favicon.png">\n'
        f'<link rel="stylesheet" href="{assets}/swagger-ui.css">\n'
        "</head>\n<body>\n"
        f'<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>\n'
        f'<script src="{assets}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{assets}/swagger-init.js"></script>\n'
        "</body>\n</html>\n"
    )


def docs_router(name: str, title: str, openapi_url: str) -> APIRouter:
    """`/docs/<name>` and its assets, left out of the OpenAPI document."""
    router = APIRouter(include_in_schema=False)
    page = docs_page(name, title, openapi_url)

    @router.get(f"/docs/{name}")
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=DOCS_HEADERS)

    @router.get(f"/docs/{name}/assets/{{asset}}")
    async def docs_asset(asset: str) -> FileResponse:
        if asset not in ASSETS:
            raise Problem(404, "请求的路径或资源不存在")
        path, media_type = ASSETS[asset]
        # the assets change only with the installed package: a day in the browser's cache
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    return router
