"""A city bureau's regional supply list (区域岗位供给清单): many employers in one file, each row naming its employer.
Known employers are matched by credit code and new ones registered in the bureau's city; every bad row is reported
with its column and every good one kept; duplicates are judged within an employer (the same job at two employers is
two jobs); a re-import with the same Idempotency-Key changes nothing. And the bureau's place in supply's scope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from libs.spreadsheets import write_table
from services.supply.imports import REGIONAL_COLUMNS
from tests.factories import credit_code, employer_body, job_body
from tests.harness import ADMIN, Platform, auth

pytestmark = pytest.mark.services("supply")

SUZHOU, NANJING = "3205", "3201"
BUREAU = auth("bureau", sub="suzhou-bureau", city_code=SUZHOU)
OTHER_BUREAU = auth("bureau", sub="nanjing-bureau", city_code=NANJING)
HEADERS = [column.header for column in REGIONAL_COLUMNS]
TITLES = ["电子产品装配工", "普工", "仓库理货员", "叉车司机", "缝纫工", "质检员", "注塑工"]


def row(name: str, code: str, serial: int, **cells: object) -> dict[str, object]:
    values: dict[str, object] = {
        "用人单位名称": name,
        "统一社会信用代码": code,
        "岗位名称": TITLES[serial % len(TITLES)] + f"{serial // len(TITLES)}",
        "工作城市": "苏州",
        "招聘人数": 5 + serial % 20,
        "月薪下限": 5000 + 100 * (serial % 10),
        "月薪上限": 7000 + 100 * (serial % 10),
        "包住": "是",
    }
    return values | cells


def sheet(rows: list[dict[str, object]]) -> bytes:
    return write_table(HEADERS, [[values.get(header, "") for header in HEADERS] for values in rows], "xlsx")


async def upload(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], filename: str = "区域清单.xlsx"
) -> httpx.Response:
    return await client.post("/v1/supply-lists/imports", files={"file": (filename, content)}, headers=headers)


async def all_items(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **query: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200, **query}
    while True:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


async def test_a_bureau_imports_a_list_of_many_employers(platform: Platform) -> None:
    client = platform.client
    employers = [(f"苏州第{n}精密制造有限公司", credit_code(700_000 + n)) for n in range(60)]
    for name, code in employers[:10]:  # known already
        response = await client.post(
            "/v1/employers", json=employer_body(name=name, credit_code=code), headers=ADMIN
        )
        assert response.status_code == 201, response.text
    elsewhere = employer_body(name="南京某物流有限公司", credit_code=credit_code(799_999), city_code=NANJING)
    assert (await client.post("/v1/employers", json=elsewhere, headers=ADMIN)).status_code == 201

    rows = [row(*employers[n % 60], n) for n in range(392)]
    # The same job (title, city, pay) at two employers is two jobs, not a duplicate.
    rows.append(row(*employers[1], 0))
    code = employers[2][1]
    wrong_digit = code[:-1] + ("1" if code[-1] == "0" else "0")
    bad = [
        row(employers[2][0], wrong_digit, 500),
        row("", employers[3][1], 501),  # no employer name
        row("苏州另一家公司", employers[4][1], 502),  # the code of row 6's employer, another name
        row(*employers[5], 503, 月薪下限="面议"),
        row(*employers[0], 0),  # row 2's job again, same employer
        row(elsewhere["name"], elsewhere["credit_code"], 504),  # registered in Nanjing
        row(*employers[6], 505, 工作城市="上海"),
        row(*employers[7], 506, 招聘人数=0, 包住="也许"),
    ]
    first_bad = len(rows) + 2  # the header is row 1
    planted = {first_bad + index: values for index, values in enumerate(bad)}
    rows += planted.values()
    content = sheet(rows)
    key = {"Idempotency-Key": "bureau-list-1"}

    response = await upload(client, content, BUREAU | key)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["accepted"] == 393
    assert {error["row"] for error in result["rejected"]} == set(planted)
    by_row = {(error["row"], error["column"]): error["code"] for error in result["rejected"]}
    n = first_bad
    assert by_row[(n, "统一社会信用代码")] == "invalid_credit_code"
    assert by_row[(n + 1, "用人单位名称")] == "required"
    assert by_row[(n + 2, "用人单位名称")] == "name_mismatch"
    assert (n + 3, "月薪下限") in by_row
    assert by_row[(n + 4, "岗位名称")] == "duplicate_in_file"
    assert by_row[(n + 5, "统一社会信用代码")] == "outside_scope"
    assert (n + 6, "工作城市") in by_row
    assert {(n + 7, "招聘人数"), (n + 7, "包住")} <= by_row.keys()
    assert (result["employers_matched"], result["employers_created"]) == (10, 50)

    registered = await all_items(client, "/v1/employers", BUREAU)
    assert sorted(e["credit_code"] for e in registered) == sorted(code for _, code in employers)
    assert all(e["city_code"] == SUZHOU for e in registered)
    jobs = await all_items(client, "/v1/jobs", BUREAU)
    assert len(jobs) == 393 and {job["supply_list_id"] for job in jobs} == {result["list_id"]}

    again = await upload(client, content, BUREAU | key)
    assert again.status_code == 201 and again.json() == result
    assert len(await all_items(client, "/v1/jobs", BUREAU)) == 393
    assert len(await all_items(client, "/v1/employers", BUREAU)) == 60

    assert (await client.get(f"/v1/supply-lists/{result['list_id']}", headers=BUREAU)).json() == result
    for stranger in (
        OTHER_BUREAU,
        auth("recruiter", employer_id=registered[0]["id"]),
        auth("partner", provinces=["61"]),
    ):
        assert (
            await client.get(f"/v1/supply-lists/{result['list_id']}", headers=stranger)
        ).status_code == 404
    assert (await client.get(f"/v1/supply-lists/{result['list_id']}", headers=ADMIN)).status_code == 200


async def test_a_list_without_employer_columns_needs_its_employer(platform: Platform) -> None:
    one_employer_sheet = write_table(
        ["岗位名称", "工作城市", "招聘人数", "月薪下限", "月薪上限"], [["普工", "苏州", 5, 5000, 6000]], "csv"
    )
    response = await upload(platform.client, one_employer_sheet, BUREAU, "一家单位.csv")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "form.employer_id"
    assert "统一社会信用代码" in response.json()["errors"][0]["message"]
    template = await platform.client.get(
        "/v1/supply-lists/template", params={"kind": "regional"}, headers=BUREAU
    )
    assert template.status_code == 200
    ok = await upload(platform.client, template.content, BUREAU)
    assert ok.status_code == 201, ok.text
    assert (ok.json()["accepted"], ok.json()["employers_created"]) == (1, 1)


async def test_a_bureaus_scope_in_supply(platform: Platform) -> None:
    """A bureau registers and manages its own city's employers and their jobs (every status), reads published
    jobs like the origin side does, and nothing of another city's employers."""
    client = platform.client
    ours = (await client.post("/v1/employers", json=employer_body(), headers=ADMIN)).json()
    theirs_body = employer_body(name="南京某公司", credit_code=credit_code(), city_code=NANJING)
    theirs = (await client.post("/v1/employers", json=theirs_body, headers=ADMIN)).json()

    mine = await client.post("/v1/employers", json=employer_body(credit_code=credit_code()), headers=BUREAU)
    assert mine.status_code == 201
    refused = await client.post(
        "/v1/employers", json=employer_body(credit_code=credit_code(), city_code=NANJING), headers=BUREAU
    )
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "body.city_code"

    assert (await client.get(f"/v1/employers/{ours['id']}", headers=BUREAU)).status_code == 200
    assert (await client.get(f"/v1/employers/{theirs['id']}", headers=BUREAU)).status_code == 404
    listed = {e["id"] for e in await all_items(client, "/v1/employers", BUREAU)}
    assert ours["id"] in listed and theirs["id"] not in listed
    assert await all_items(client, "/v1/employers", BUREAU, city_code=NANJING) == []

    posted = await client.post("/v1/jobs", json=job_body(ours["id"]), headers=BUREAU)
    assert posted.status_code == 201, posted.text
    job_id = posted.json()["id"]
    other = await client.post("/v1/jobs", json=job_body(theirs["id"]), headers=BUREAU)
    assert other.status_code == 404 and other.json()["errors"][0]["field"] == "body.employer_id"
    their_job = (
        await client.post("/v1/jobs", json=job_body(theirs["id"], city_code=NANJING), headers=ADMIN)
    ).json()
    flagged = (
        await client.post(
            "/v1/jobs", json=job_body(ours["id"], salary_min=100, salary_max=200), headers=ADMIN
        )
    ).json()
    assert flagged["status"] == "flagged"

    seen = {job["id"] for job in await all_items(client, "/v1/jobs", BUREAU)}
    assert {job_id, flagged["id"]} <= seen and their_job["id"] not in seen
    assert (await client.get(f"/v1/jobs/{flagged['id']}", headers=BUREAU)).status_code == 200
    assert (await client.get(f"/v1/jobs/{their_job['id']}", headers=BUREAU)).status_code == 200  # published
    assert (
        await client.patch(f"/v1/jobs/{their_job['id']}", json={"headcount": 3}, headers=BUREAU)
    ).status_code == 404
    assert (await client.post(f"/v1/jobs/{their_job['id']}/close", headers=BUREAU)).status_code == 404
    assert (
        await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 3}, headers=BUREAU)
    ).status_code == 200
    assert (await client.post(f"/v1/jobs/{job_id}/close", headers=BUREAU)).json()["status"] == "closed"
    assert (await client.get(f"/v1/jobs/{flagged['id']}", headers=OTHER_BUREAU)).status_code == 404

    # A region's list is an admin's or a bureau's: a recruiter's upload without an employer is refused.
    recruiter = auth("recruiter", employer_id=ours["id"])
    template = (
        await client.get("/v1/supply-lists/template", params={"kind": "regional"}, headers=recruiter)
    ).content
    assert (await upload(client, template, recruiter)).status_code == 403
    for caller in (auth("partner", provinces=["61"]), auth("public")):
        assert (await upload(client, template, caller)).status_code == 403
