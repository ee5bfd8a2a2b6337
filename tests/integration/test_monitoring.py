"""Monitoring through the HTTP API: figures kept from real events, scoped by role, small counts hidden outside
the owning station, and the cooperation agreements with their progress."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest

from libs.db import beijing_date
from libs.events.contracts import PLACEMENT_CONFIRMED, REPORT_PUBLISHED, PlacementConfirmed, ReportPublished
from libs.events.envelope import new_event
from services.monitoring.models import Station
from services.monitoring.report import publish_due
from services.monitoring.service import month_end, shift_month
from tests.harness import ADMIN, Platform, auth, eventually, known_to
from tests.integration.test_demand import new_station as new_demand_station
from tests.integration.test_demand import register, station_token

pytestmark = pytest.mark.services("stations", "demand", "monitoring")

IN_SUZHOU = {"how": "self_found", "where": "jiangsu", "region_code": "3205"}
NEAR_HOME = {"how": "flexible", "where": "home_county", "region_code": "520102"}


async def new_station(platform: Platform, province_code: str) -> str:
    """A station both demand and monitoring know (a figure filtered by it is 404 until monitoring does)."""
    station_id = await new_demand_station(platform, province_code)
    await known_to(platform, "monitoring", Station, station_id, what="monitoring learns the station")
    return station_id


async def set_status(
    platform: Platform,
    person: dict[str, Any],
    status: str,
    since: date,
    employment: dict[str, Any] | None = None,
) -> None:
    body: dict[str, Any] = {"status": status, "since": since.isoformat()}
    if employment is not None:
        body["employment"] = employment
    response = await platform.client.post(
        f"/v1/persons/{person['id']}/status", json=body, headers=station_token(person["station_id"])
    )
    assert response.status_code == 201, response.text


async def stats(platform: Platform, topic: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await platform.client.get(f"/v1/stats/{topic}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def cells(figures: dict[str, Any]) -> dict[str | None, Any]:
    return {cell["key"]: cell["count"] for cell in figures["breakdown"]}


HIRED, NEAR_HOME_SINCE, LOST = 6, 4, 2  # months before this one


def months_ago(months: int) -> str:
    return shift_month(beijing_date().strftime("%Y-%m"), -months)


async def history(platform: Platform) -> tuple[str, str]:
    """Six workers of a Shaanxi station at work in Suzhou since the first of the month six months ago (one lost
    the job on the first of the month two months ago), one of a Guizhou station working near home since the
    15th of the month four months ago."""
    shaanxi, guizhou = await new_station(platform, "61"), await new_station(platform, "52")
    workers = [await register(platform, shaanxi, serial) for serial in range(1, 7)]
    for worker in workers:
        await set_status(
            platform, worker, "employed", date.fromisoformat(f"{months_ago(HIRED)}-01"), IN_SUZHOU
        )
    await set_status(platform, workers[-1], "unemployed", date.fromisoformat(f"{months_ago(LOST)}-01"))
    near_home = date.fromisoformat(f"{months_ago(NEAR_HOME_SINCE)}-15")
    await set_status(platform, await register(platform, guizhou, 7), "employed", near_home, NEAR_HOME)

    async def caught_up() -> bool:  # the statuses, and the warning the job loss raised (another consumer)
        figures = await stats(platform, "employment", ADMIN, by="station")
        warnings = await stats(platform, "warnings", station_token(shaanxi))
        return figures["employed"] == 6 and cells(figures).get(shaanxi) == 5 and warnings["raised"] == 1

    await eventually(caught_up, what="monitoring has the history")  # fmt: skip
    return shaanxi, guizhou


async def test_employment_scale_by_scope_with_small_cells_hidden(platform: Platform) -> None:
    shaanxi, guizhou = await history(platform)
    today = beijing_date()
    this_month = today.strftime("%Y-%m")
    admin = await stats(platform, "employment", ADMIN, by="station")
    assert cells(admin) == {shaanxi: 5, guizhou: "<5"}
    by_city = cells(await stats(platform, "employment", ADMIN, by="jiangsu_city"))
    assert by_city == {"3205": 5, None: "<5"}
    by_how = await stats(platform, "employment", ADMIN, by="how")
    assert {cell["label"]: cell["count"] for cell in by_how["breakdown"]} == {"自主就业": 5, "灵活就业": "<5"}
    assert cells(await stats(platform, "employment", ADMIN, by="category")) == {
        "poverty_alleviated": 6, "registered_low_income": 0, "rural_low_income": 0, "dibao": 0,
    }  # fmt: skip

    # the month-end series: seven at work once Guizhou's worker starts, six after the job loss
    series = {point["month"]: point for point in admin["series"]}
    before, after = series[months_ago(LOST + 1)], series[months_ago(LOST)]
    assert (before["employed"], after["employed"]) == (7, 6)
    assert after["change_on_previous_month"] == -1
    assert series[months_ago(HIRED)]["started"] == 6
    assert series[months_ago(HIRED)]["change_on_last_year"] == 6
    assert series[this_month]["on"] == today.isoformat()
    assert series[months_ago(HIRED + 1)]["employed"] == 0

    # the owning station sees its own exact figures; each other caller only its scope, small cells hidden
    assert (await stats(platform, "employment", station_token(guizhou)))["employed"] == 1
    assert (await stats(platform, "employment", station_token(shaanxi)))["employed"] == 5
    assert (await stats(platform, "employment", auth("partner", provinces=["61"])))["employed"] == 5
    assert (await stats(platform, "employment", auth("partner", provinces=["52"])))["employed"] == "<5"
    assert (await stats(platform, "employment", auth("bureau", city_code="3205")))["employed"] == 5
    assert (await stats(platform, "employment", auth("bureau", city_code="3206")))["employed"] == 0
    past = await stats(platform, "employment", ADMIN, on=month_end(months_ago(LOST + 1), today).isoformat())
    assert past["employed"] == 7

    # stability: one job loss, its warning
    assert (await stats(platform, "retention", station_token(shaanxi)))["job_losses"] == 1
    assert (await stats(platform, "retention", ADMIN))["job_losses"] == "<5"
    warnings = await stats(platform, "warnings", station_token(shaanxi))
    assert warnings["raised"] == 1 and warnings["open"] == 1
    assert [kind["kind"] for kind in warnings["kinds"]] == ["employed_to_unemployed"]
    funnel = await stats(platform, "funnel", station_token(shaanxi), by="station")
    assert funnel["total"][0] == {"step": "registered", "label": "登记", "count": 6}

    # a Jiangsu city's bureau: the workers who worked there and the facts kept per worker (their warning)
    suzhou, wuxi = auth("bureau", city_code="3205"), auth("bureau", city_code="3202")
    assert (await stats(platform, "funnel", suzhou))["total"][0]["count"] == 6
    assert (await stats(platform, "warnings", suzhou))["raised"] == "<5"
    assert (await stats(platform, "funnel", wuxi))["total"][0]["count"] == 0
    assert (await stats(platform, "warnings", wuxi))["raised"] == 0


async def test_figures_outside_the_scope_are_not_found(platform: Platform) -> None:
    shaanxi, guizhou = await new_station(platform, "61"), await new_station(platform, "52")
    refused = [
        (station_token(shaanxi), "station_id", guizhou, 404),
        (auth("partner", provinces=["61"]), "province_code", "52", 404),
        (auth("partner", provinces=["61"]), "station_id", guizhou, 404),
        (auth("bureau", city_code="3205"), "city_code", "3206", 404),
        (ADMIN, "station_id", str(uuid.uuid4()), 404),
        (auth("recruiter", employer_id="e1"), "province_code", "61", 403),
        (auth("training", base_id="b1"), "province_code", "61", 403),
    ]
    for topic in ("employment", "retention", "funnel", "training", "bus", "warnings"):
        for headers, name, value, status in refused:
            response = await platform.client.get(f"/v1/stats/{topic}", params={name: value}, headers=headers)
            assert response.status_code == status, (topic, name, response.text)
        allowed = await platform.client.get(
            f"/v1/stats/{topic}", params={"station_id": shaanxi}, headers=auth("partner", provinces=["61"])
        )
        assert allowed.status_code == 200, allowed.text
    unauthenticated = await platform.client.get("/v1/stats/employment")
    assert unauthenticated.status_code == 401


async def test_periods_are_checked(platform: Platform) -> None:
    today = beijing_date()
    next_month = shift_month(today.strftime("%Y-%m"), 1)
    cases = {
        ("to", next_month): "query.to",
        ("from", "2020-01"): "query.from",  # longer than 36 months
        ("on", (today + timedelta(days=1)).isoformat()): "query.on",
        ("from", "2026-13"): "query.from",
        ("from", "0000-01"): "query.from",
        ("by", "name"): "query.by",
    }
    for (name, value), field in cases.items():
        response = await platform.client.get("/v1/stats/employment", params={name: value}, headers=ADMIN)
        assert response.status_code == 422, (name, value, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text


async def test_a_placement_owes_follow_ups_and_counts_in_the_funnel(platform: Platform) -> None:
    station = await new_station(platform, "61")
    worker = await register(platform, station, 11)
    placement = PlacementConfirmed(
        placement_id=str(uuid.uuid4()), person_id=worker["id"], job_id=str(uuid.uuid4()),
        start_date=beijing_date() - timedelta(days=40), employer_id="employer-1", station_id=station,
        province_code="61", city_code="3205",
    )  # fmt: skip
    event = new_event(
        "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
    )
    js = platform.runtime("monitoring").bus.js
    await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
    token = station_token(station)

    async def placed() -> bool:  # the spell (from demand's status) and the visits owed (from the placement)
        figures = await stats(platform, "employment", token, by="how")
        owed = (await stats(platform, "warnings", token))["follow_ups_due"]
        return cells(figures).get("placed") == 1 and owed == 1

    await eventually(placed, what="the placement's spell")
    warnings = await stats(platform, "warnings", token)
    assert (warnings["follow_ups_due"], warnings["follow_ups_overdue"]) == (1, 1)  # the one-month visit
    funnel = await stats(platform, "funnel", token)
    steps = {step["step"]: step["count"] for step in funnel["total"]}
    assert (steps["registered"], steps["placed"], steps["employed_90_days"]) == (1, 1, 0)
    assert [group["key"] for group in funnel["groups"]] == ["station"]
    by_city = await stats(platform, "employment", auth("bureau", city_code="3205"), by="how")
    assert cells(by_city) == {"placed": "<5"}
    suzhou = await stats(platform, "warnings", auth("bureau", city_code="3205"))
    assert suzhou["follow_ups_due"] == "<5"  # the visits of placements in the city
    assert (await stats(platform, "warnings", auth("bureau", city_code="3202")))["follow_ups_due"] == 0


async def test_agreements_and_their_progress(platform: Platform) -> None:
    await history(platform)
    year = int(months_ago(HIRED)[:4])  # the hires fall in this year
    body = {
        "title": "苏州市—陕西省人力资源合作框架协议",
        "jiangsu_city_code": "3205",
        "partner_region_code": "61",
        "year": year,
        "targets": {"employed": 10, "trained": 4, "carried": 0},
    }
    refused = await platform.client.post(
        "/v1/agreements", json=body, headers=auth("partner", provinces=["61"])
    )
    assert refused.status_code == 403
    for field, value in (("jiangsu_city_code", "3299"), ("partner_region_code", "32"), ("year", 1999)):
        bad = await platform.client.post("/v1/agreements", json={**body, field: value}, headers=ADMIN)
        assert bad.status_code == 422, bad.text
        assert f"body.{field}" in [error["field"] for error in bad.json()["errors"]]
    created = await platform.client.post("/v1/agreements", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    agreement = created.json()
    assert (agreement["jiangsu_city"], agreement["partner_region"]) == ("苏州市", "陕西省")

    progress = (await platform.client.get(f"/v1/agreements/{agreement['id']}/progress", headers=ADMIN)).json()
    assert progress["employed"]["actual"] == 6 and progress["employed"]["share"] == 0.6
    assert progress["trained"]["actual"] == 0 and progress["trained"]["on_track"] is False
    for headers, status in (
        (auth("partner", provinces=["61"]), 200),
        (auth("bureau", city_code="3205"), 200),
        (auth("partner", provinces=["52"]), 404),
        (auth("bureau", city_code="3206"), 404),
        (auth("recruiter", employer_id="e1"), 403),
    ):
        response = await platform.client.get(f"/v1/agreements/{agreement['id']}/progress", headers=headers)
        assert response.status_code == status, response.text
        listed = await platform.client.get("/v1/agreements", headers=headers)
        assert listed.status_code == (403 if status == 403 else 200)
        if status != 403:
            assert [item["id"] for item in listed.json()["items"]] == (
                [agreement["id"]] if status == 200 else []
            )


async def test_the_monthly_report_in_json_and_as_a_workbook(platform: Platform) -> None:
    await history(platform)
    today = beijing_date()
    this_month = today.strftime("%Y-%m")
    partner = auth("partner", provinces=["61"])
    response = await platform.client.get("/v1/reports/monthly", params={"month": this_month}, headers=partner)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["scope"] == "协作省份：陕西省" and report["on"] == today.isoformat()
    assert {cell["key"]: cell["count"] for cell in report["employment"]["by_province"]} == {"61": 5}
    assert len(report["series"]) == 12 and report["series"][-1]["month"] == this_month

    workbook_response = await platform.client.get(
        "/v1/reports/monthly", params={"month": this_month, "format": "xlsx"}, headers=partner
    )
    assert workbook_response.status_code == 200
    assert workbook_response.headers["content-disposition"].endswith(f'monthly-report-{this_month}.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(workbook_response.content))
    assert book.sheetnames[:9] == [
        "概要",
        "就业规模",
        "就业趋势",
        "稳定就业",
        "服务漏斗",
        "培训",
        "直通车",
        "预警",
        "协作目标",
    ]
    summary = [row for row in book["概要"].iter_rows(values_only=True)]
    assert summary[0][0].startswith(f"协作省份：陕西省 · {this_month} 调度报表")
    assert ("月末在岗人数", 5) in summary
    scale = [row for row in book["就业规模"].iter_rows(values_only=True)]
    assert ("来源省份", "61", "陕西省", 5) in scale
    assert not any("贵州" in str(cell) for row in scale for cell in row)

    for params, status in (({"month": shift_month(this_month, 1)}, 422), ({"month": "2026-1"}, 422)):
        refused = await platform.client.get("/v1/reports/monthly", params=params, headers=ADMIN)
        assert refused.status_code == status, refused.text
    outsider = await platform.client.get(
        "/v1/reports/monthly", params={"province_code": "52"}, headers=partner
    )
    assert outsider.status_code == 404


async def test_last_months_report_is_published_once(platform: Platform) -> None:
    """The service publishes last month's report when it starts (and looks again every hour); once only."""
    last_month = shift_month(beijing_date().strftime("%Y-%m"), -1)
    js = platform.runtime("monitoring").bus.js

    async def published() -> bool:
        try:
            message = await js.get_last_msg("EW", REPORT_PUBLISHED)
        except Exception:
            return False
        return bool(json.loads(message.data or b"{}")["data"]["month"] == last_month)

    await eventually(published, what="last month's report published")
    message = await js.get_last_msg("EW", REPORT_PUBLISHED)
    payload = ReportPublished.model_validate(json.loads(message.data or b"{}")["data"])
    assert payload.url == f"/v1/reports/monthly?month={last_month}"
    async with platform.runtime("monitoring").sessions.begin() as session:
        assert await publish_due(session, beijing_date()) is None
