"""The officials' dashboard in a real browser: Debian's Chromium driven by Playwright's Python package (never
`playwright install`). A small history goes in through the API (a Shaanxi and a Guizhou station, workers set to
employed in Suzhou and near home, Shaanxi's five placed four months ago, an agreement); /dashboard is opened; a
bad token and a recruiter's token are refused with a clear message and the sign-in box again; a partner of Shaanxi
signs in and sees only Shaanxi (the tiles, the charts, the scope title, the agreement's progress), narrows to
Suzhou, is told when a filter is outside the scope, and saves the monthly report as an .xlsx file of Shaanxi's
figures; Guizhou's partner then sees its one worker as "<5". Nothing is loaded from another host, the token never
appears in an address, and the page runs under its Content-Security-Policy with no script error or violation.
Screenshots go to the test's tmp folder, or to EW_LIVE_SCREENSHOT_DIR when set.

Skipped, with the reason, where /usr/bin/chromium is not installed (`apt-get install -y chromium`; add
`fonts-noto-cjk` so Chinese renders in the screenshots)."""

from __future__ import annotations

import uuid
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from libs.db import beijing_date
from libs.events.contracts import PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import new_event
from services.monitoring.service import shift_month
from tests.browser.conftest import BOUND_MS
from tests.harness import ADMIN, Platform, eventually, token
from tests.integration.test_demand import station_token
from tests.integration.test_monitoring import HIRED, history, months_ago, stats

pytestmark = pytest.mark.services("stations", "demand", "monitoring")

async_api = pytest.importorskip("playwright.async_api", reason="Playwright's Python package is not installed")


def month_name(month: str) -> str:
    return f"{month[:4]} 年 {int(month[5:])} 月"


async def placed_four_months_ago(platform: Platform, station_id: str) -> str:
    """The station's workers at work, placed through the platform on the first day of the month four months ago
    (one cohort, past its three-month check): the events matching would send, published as in
    tests/integration/test_monitoring.py. Returns the cohort's month."""
    headers = station_token(station_id)
    listed = await platform.client.get(
        "/v1/persons", params={"station_id": station_id, "status": "employed"}, headers=headers
    )
    assert listed.status_code == 200, listed.text
    workers = listed.json()["items"]
    assert len(workers) == 5
    month = shift_month(beijing_date().strftime("%Y-%m"), -4)
    js = platform.runtime("monitoring").bus.js
    for worker in workers:
        placement = PlacementConfirmed(
            placement_id=str(uuid.uuid4()), person_id=worker["id"], job_id=str(uuid.uuid4()),
            start_date=date.fromisoformat(f"{month}-01"), employer_id="employer-1", station_id=station_id,
            province_code="61", city_code="3205",
        )  # fmt: skip
        event = new_event(
            "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
        )
        await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})

    async def retained() -> bool:
        figures = await stats(platform, "retention", headers)
        return any(c["month"] == month and c["retained_3_months"] == 1.0 for c in figures["cohorts"])

    await eventually(retained, what="monitoring has the placements")
    return month


async def test_dashboard_in_chromium(
    platform: Platform, browser: async_api.Browser, screenshots: Path
) -> None:
    # five of Shaanxi at work in Suzhou (six until two months ago), one of Guizhou near home; Shaanxi's five placed
    shaanxi, _ = await history(platform)
    cohort = await placed_four_months_ago(platform, shaanxi)
    agreement = await platform.client.post(
        "/v1/agreements",
        json={
            "title": "苏州市—陕西省人力资源合作框架协议",
            "jiangsu_city_code": "3205",
            "partner_region_code": "61",
            "year": int(months_ago(HIRED)[:4]),  # the year of the hires
            "targets": {"employed": 10, "trained": 4, "carried": 0},
        },
        headers=ADMIN,
    )
    assert agreement.status_code == 201, agreement.text
    partner = token("partner", provinces=["61"])

    context = await browser.new_context(
        viewport={"width": 1440, "height": 1000}, locale="zh-CN", accept_downloads=True
    )
    page = await context.new_page()
    page.set_default_timeout(BOUND_MS)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: async_api.ConsoleMessage) -> None:
        # a refused request is logged as "Failed to load resource"; any other error (a policy violation) counts
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    expect = async_api.expect

    page_answer = await page.goto(f"{platform.base_url}/dashboard")
    assert page_answer is not None and page_answer.status == 200
    assert "script-src 'self'" in (await page_answer.header_value("content-security-policy") or "")
    sign_in, board, notice = page.locator("#sign-in"), page.locator("#board"), page.locator("#notice")
    await expect(sign_in).to_be_visible()
    await expect(board).to_be_hidden()

    async def sign_in_with(value: str) -> None:
        await page.locator("#token").fill(value)
        await page.locator("#sign-in-submit").click()

    # refused tokens: a clear message, and the sign-in box again
    await sign_in_with("not-a-token")
    await expect(notice).to_contain_text("登录已失效或访问令牌无效")
    await expect(sign_in).to_be_visible()
    await sign_in_with(token("recruiter", employer_id="e1"))
    await expect(notice).to_contain_text("此账号无权查看监测数据")
    await expect(sign_in).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0

    # a partner of Shaanxi: Shaanxi's figures only
    await sign_in_with(partner)
    await expect(board).to_be_visible()
    await expect(notice).to_be_hidden()
    await expect(page.locator("#scope")).to_have_text("统计范围：协作省份：陕西省")
    await expect(page.locator("#tile-jiangsu .value")).to_have_text("5")
    await expect(page.locator("#tile-warnings .value")).to_have_text("<5")  # the October job loss
    await expect(page.locator("#tile-bus .value")).to_have_text("0")
    await expect(page.locator("#tile-retention .value")).to_have_text("100.0%")
    await expect(page.locator("#tile-retention .note")).to_have_text(f"{month_name(cohort)}上岗批次（5 人）")
    assert "就业地点为江苏省" in (await page.locator("#tile-jiangsu").get_attribute("title") or "")
    province_ticks = page.locator("#chart-province .xtick text")
    await expect(province_ticks).to_have_text(["陕西省"])
    await expect(page.locator("#chart-province .bartext")).to_have_text(["5"])
    await expect(page.locator("#chart-city .xtick text")).to_have_text(["苏州市"])
    assert "贵州省" not in await page.locator(".panels").inner_text()
    assert "贵州省" not in (await page.locator("#chart-province").text_content() or "")
    trend_points = page.locator("#chart-trend .scatterlayer .trace").first.locator(".point")
    await expect(trend_points).to_have_count(12)
    await expect(page.locator("#chart-funnel .bartext").first).to_have_text("6")  # 登记: six registered
    retention = page.locator("#chart-retention")
    await expect(retention.locator(".ytick text")).to_have_count(12)  # a row per cohort month
    await expect(retention.locator(".xtick text")).to_have_text(["3 个月", "6 个月", "12 个月"])
    await expect(retention.locator(".hm image")).to_have_count(1)
    assert "100.0%" in (await retention.text_content() or "")
    target = page.locator(
        f'.agreement[data-agreement-id="{agreement.json()["id"]}"] [data-target="employed"]'
    )
    await expect(target.locator(".figures")).to_have_text("6 / 10（60.0%）")
    await expect(target.locator(".bar")).to_have_attribute("aria-valuenow", "60")
    await page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True, animations="disabled")

    # the filters ask again: Suzhou names itself in the title; a province outside the scope is refused
    await page.locator("#filter-city").select_option("3205")
    await page.locator("#filter-submit").click()
    await expect(page.locator("#scope")).to_have_text("统计范围：协作省份：陕西省（苏州市）")
    await expect(page.locator("#tile-jiangsu .value")).to_have_text("5")
    await page.locator("#filter-province").select_option("52")
    await page.locator("#filter-submit").click()
    await expect(notice).to_contain_text("不在您的权限范围内")
    await expect(board).to_be_visible()  # still signed in
    await page.locator("#filter-province").select_option("")
    await page.locator("#filter-submit").click()
    await expect(notice).to_be_hidden()

    # the monthly report: fetched with the token, saved from a blob
    async with page.expect_download() as waiting:
        await page.locator("#report-download").click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    saved = screenshots / download.suggested_filename
    await download.save_as(saved)
    assert saved.stat().st_size > 0
    with zipfile.ZipFile(saved) as archive:
        assert "xl/workbook.xml" in archive.namelist()
    workbook = openpyxl.load_workbook(saved, read_only=True)
    cells = " ".join(
        str(value)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value
    )
    assert "陕西省" in cells and "贵州省" not in cells  # asked with the partner's token
    await expect(page.locator("#status")).to_contain_text("已下载")

    # offline, the token in no address, no script error and no policy violation
    assert all(url.startswith(platform.base_url) for url in requested), requested
    assert any(url.startswith(f"{platform.base_url}/dashboard/plotly.min.js") for url in requested)
    assert not any(partner in url for url in requested)
    assert errors == []

    # signing out forgets the token; Guizhou's partner sees its one worker as "<5", charted at 0 with that label
    await page.locator("#sign-out").click()
    await expect(sign_in).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await sign_in_with(token("partner", provinces=["52"]))
    await expect(page.locator("#scope")).to_have_text("统计范围：协作省份：贵州省")
    await expect(page.locator("#chart-province .xtick text")).to_have_text(["贵州省"])
    await expect(page.locator("#chart-province .bartext")).to_have_text(["<5"])
    await expect(page.locator("#chart-city .empty")).to_have_text(
        "统计日没有在岗人员"
    )  # near home, not Jiangsu
    await expect(page.locator("#tile-jiangsu .value")).to_have_text("0")
    await expect(page.locator("#chart-retention .empty")).to_contain_text("暂无可计算的批次")
    small = page.locator("#chart-trend .scatterlayer .trace").nth(1).locator(".textpoint")
    await expect(small).to_have_count(5)  # August to December: one at work
    await expect(small.first).to_have_text("<5")
    await page.screenshot(
        path=str(screenshots / "dashboard-small.png"), full_page=True, animations="disabled"
    )
    assert errors == []
    print(f"\nscreenshot: {screenshots / 'dashboard.png'}; report: {saved}")
    await context.close()
