"""The officials' dashboard (`/dashboard`): one page, its assets, and plotly.js served from the installed `plotly`
wheel. The page and its assets are public (they hold no figures); the figures come from the JSON API, which the
page calls with the bearer token the viewer enters (kept in sessionStorage, never in an address)."""

from __future__ import annotations

from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from libs.api.problems import Problem
from libs.api.routing import ServiceRoute
from libs.reference.regions import JIANGSU_CITIES, PROVINCES

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "plotly-base.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
PLOTLY_VERSION = version("plotly")
# The page's address for plotly.js names the installed version, so the file may be cached for a year: another
# wheel is another address.
PAGE = (STATIC / "dashboard.html").read_text(encoding="utf-8").replace("%PLOTLY_VERSION%", PLOTLY_VERSION)
# Everything the page needs is on this host: no CDN, no inline script or style (plotly.js is told that its own
# rules are in plotly-base.css), nothing it could be made to load. The heat map is drawn as a data: image, the
# report is saved through a blob: address. Never framed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
# Beyond the borders of the cooperation: not an origin province a worker comes to Jiangsu from.
NOT_ORIGINS = {"32", "71", "81", "82"}

dashboard_router = APIRouter(tags=["dashboard"], route_class=ServiceRoute, include_in_schema=False)


@dashboard_router.get("/dashboard")
async def dashboard_page() -> HTMLResponse:
    """动态监测与工作调度看板 (page)."""
    return HTMLResponse(PAGE, headers=PAGE_HEADERS)


@dashboard_router.get("/dashboard/plotly.min.js")
async def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@dashboard_router.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise Problem(404, "请求的路径或资源不存在")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@dashboard_router.get("/dashboard/regions.json")
async def dashboard_regions() -> JSONResponse:
    """The filters' choices: origin provinces and Jiangsu's cities (reference data, the same for everyone)."""
    return JSONResponse(
        {
            "provinces": [
                {"code": code, "name": name} for code, name in PROVINCES.items() if code not in NOT_ORIGINS
            ],
            "jiangsu_cities": [{"code": code, "name": name} for code, name in JIANGSU_CITIES.items()],
        },
        headers={"Cache-Control": "public, max-age=86400"},
    )
