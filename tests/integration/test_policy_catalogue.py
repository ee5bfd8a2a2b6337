"""The policy catalogue (政策清单) through the HTTP API: published to everyone, in Chinese and as XLSX, filtered
by group and region; edited by admins only, each change a version with who, when and why; a condition outside
the vocabulary refused with the field named."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from services.policy.schemas import PolicyItem
from tests.harness import ADMIN, PUBLIC, Platform, auth
from tests.integration.test_http_contract import PARTNER, STATION, assert_problem

pytestmark = pytest.mark.services("policy")

SEEDED = {
    "transport-subsidy",
    "employer-social-insurance-subsidy",
    "training-living-allowance",
    "order-training-subsidy",
    "assistance-base-award",
    "agency-service-subsidy",
    "work-for-training",
}
BUREAU = auth("bureau", sub="bureau-suzhou", city_code="3205")


async def listed(platform: Platform, **params: str) -> list[dict[str, Any]]:
    response = await platform.client.get("/v1/policies", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def item(platform: Platform, code: str) -> dict[str, Any]:
    response = await platform.client.get(f"/v1/policies/{code}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def body_of(published: dict[str, Any]) -> dict[str, Any]:
    """An item as published, cut to what an admin sends back."""
    return {key: value for key, value in published.items() if key in PolicyItem.model_fields}


def codes(items: list[dict[str, Any]]) -> set[str]:
    return {entry["code"] for entry in items}


async def test_the_seeded_catalogue_is_public_and_says_when_it_ran(platform: Platform) -> None:
    everything = await listed(platform)
    assert codes(everything) == SEEDED
    transport = next(entry for entry in everything if entry["code"] == "transport-subsidy")
    assert transport["name"] == "跨省就业一次性交通补贴"
    assert transport["beneficiary_name"] == "劳动者本人"
    assert transport["benefit"]["placeholder"] is True
    assert transport["legal_basis"][0]["document_number"] == "人社部发〔2021〕26号"
    assert transport["valid_to"] == "2025-12-31" and transport["in_force"] is False
    # The seed document's policies ran until 2025-12-31, 以工代训 until 2021-12-31: nothing is in force today
    # until the office extends an item.
    assert await listed(platform, status="in_force") == []
    assert codes(await listed(platform, status="expired")) == SEEDED


async def test_filters_by_group_region_and_beneficiary(platform: Platform) -> None:
    assert codes(await listed(platform, group="agency")) == {"agency-service-subsidy"}
    assert codes(await listed(platform, group="dibao")) == {"work-for-training"}
    # A Guizhou county sees the nationwide items only; a Suzhou district sees Jiangsu's as well.
    assert codes(await listed(platform, region_code="520602")) == {"transport-subsidy"}
    assert codes(await listed(platform, region_code="320506")) == SEEDED
    assert codes(await listed(platform, beneficiary="training_base")) == {"order-training-subsidy"}
    assert_problem(await platform.client.get("/v1/policies", params={"group": "aliens"}), 422, "query.group")
    assert_problem(
        await platform.client.get("/v1/policies", params={"region_code": "3"}), 422, "query.region_code"
    )


async def test_the_catalogue_as_a_spreadsheet_in_chinese(platform: Platform) -> None:
    response = await platform.client.get("/v1/policies", params={"format": "xlsx", "group": "employer"})
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [row for row in sheet.iter_rows(values_only=True) if any(cell is not None for cell in row)]
    header = rows[0]
    assert header[:3] == ("项目代码", "项目名称", "实施地区")
    body = {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:] if row[0] in SEEDED}
    assert set(body) == {"employer-social-insurance-subsidy", "assistance-base-award", "work-for-training"}
    award = body["assistance-base-award"]
    assert award["实施地区"] == "江苏省"
    assert award["金额说明"] == "占位数，待经办部门按当地标准填写"
    assert "苏人社发〔2021〕82号" in award["政策依据"]
    assert award["是否在执行期"] == "否"


async def test_an_admin_extends_an_item_and_the_trail_keeps_both_versions(platform: Platform) -> None:
    before = await item(platform, "transport-subsidy")
    change = body_of(before)
    extended = {**change, "valid_to": "2027-12-31", "base_version": 1, "note": "延长执行期（示例文号）"}
    response = await platform.client.put("/v1/policies/transport-subsidy", json=extended, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2 and response.json()["in_force"] is True
    assert codes(await listed(platform, status="in_force")) == {"transport-subsidy"}

    # Edited from version 1 again: a colleague's change would be undone, so it is a conflict and changes nothing.
    stale = {**change, "valid_to": "2030-12-31", "base_version": 1, "note": "另一处修改"}
    conflict = await platform.client.put("/v1/policies/transport-subsidy", json=stale, headers=ADMIN)
    assert_problem(conflict, 409, slug="edit-conflict")
    assert (await item(platform, "transport-subsidy"))["valid_to"] == "2027-12-31"

    # Saving the same item again is not a new version.
    same = await platform.client.put(
        "/v1/policies/transport-subsidy", json={**extended, "base_version": 2}, headers=ADMIN
    )
    assert same.status_code == 200 and same.json()["version"] == 2

    trail = await platform.client.get("/v1/policies/transport-subsidy/versions", headers=ADMIN)
    assert trail.status_code == 200, trail.text
    versions = trail.json()["items"]
    assert [entry["version"] for entry in versions] == [2, 1]
    assert versions[0]["changed_by"] == "admin-1" and versions[0]["note"] == "延长执行期（示例文号）"
    assert versions[0]["item"]["valid_to"] == "2027-12-31"
    assert versions[1]["changed_by"] == "seed" and versions[1]["item"]["valid_to"] == "2025-12-31"


async def test_conditions_and_dates_are_checked_with_the_field_named(platform: Platform) -> None:
    base = await item(platform, "agency-service-subsidy")
    body = body_of(base)
    cases = [
        ({"condition": "placement.agency_id != '' && worker.wage > 3000"}, "body.condition"),
        ({"condition": "placement.months_employed"}, "body.condition"),
        ({"condition": "training.completed", "occasion": "placement"}, "body.condition"),
        ({"valid_to": "2020-01-01"}, "body.valid_to"),
        ({"region_code": "9999"}, "body.region_code"),
        ({"groups": []}, "body.groups"),
        ({"name": "就业\u202e补贴"}, "body.name"),
    ]
    for changes, field in cases:
        response = await platform.client.put(
            "/v1/policies/agency-service-subsidy",
            json={**body, **changes, "base_version": 1, "note": "试改"},
            headers=ADMIN,
        )
        assert_problem(response, 422, field)
    assert (await item(platform, "agency-service-subsidy"))["version"] == 1


async def test_an_admin_adds_an_item_once(platform: Platform) -> None:
    base = await item(platform, "transport-subsidy")
    new = {
        **body_of(base),
        "code": "guizhou-transport-subsidy",
        "name": "贵州省跨省就业一次性交通补贴",
        "region_code": "52",
        "valid_to": None,
    }
    headers = {**ADMIN, "Idempotency-Key": "policy-new-1"}
    first = await platform.client.post("/v1/policies", json=new, headers=headers)
    assert first.status_code == 201, first.text
    again = await platform.client.post("/v1/policies", json=new, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert first.json()["version"] == 1 and first.json()["in_force"] is True
    assert_problem(
        await platform.client.post("/v1/policies", json=new, headers=ADMIN), 409, slug="policy-exists"
    )
    assert codes(await listed(platform, region_code="520602")) == {
        "transport-subsidy",
        "guizhou-transport-subsidy",
    }
    assert codes(await listed(platform, region_code="320506")) == SEEDED


@pytest.mark.parametrize(
    "headers",
    [PUBLIC, PARTNER, STATION, BUREAU, auth("recruiter", sub="r-1", employer_id="e-1")],
    ids=["public", "partner", "station", "bureau", "recruiter"],
)
async def test_only_admins_edit_or_read_the_trail(platform: Platform, headers: dict[str, str]) -> None:
    base = await item(platform, "transport-subsidy")
    body = body_of(base)
    assert_problem(
        await platform.client.put(
            "/v1/policies/transport-subsidy",
            json={**body, "base_version": 1, "note": "试改"},
            headers=headers,
        ),
        403,
    )
    assert_problem(
        await platform.client.post("/v1/policies", json={**body, "code": "x-item"}, headers=headers), 403
    )
    assert_problem(await platform.client.get("/v1/policies/transport-subsidy/versions", headers=headers), 403)
    assert (await platform.client.get("/v1/policies", headers=headers)).status_code == 200
    assert (await item(platform, "transport-subsidy"))["version"] == 1


async def test_unknown_items_are_404_and_the_vocabulary_is_public(platform: Platform) -> None:
    assert_problem(await platform.client.get("/v1/policies/no-such-item"), 404)
    assert_problem(await platform.client.get("/v1/policies/no-such-item/versions", headers=ADMIN), 404)
    vocabulary = await platform.client.get("/v1/policy-vocabulary")
    assert vocabulary.status_code == 200, vocabulary.text
    occasions = {occasion["name"]: occasion for occasion in vocabulary.json()["occasions"]}
    assert set(occasions) == {"placement", "training", "employer_year"}
    names = {fact["name"] for fact in occasions["placement"]["facts"]}
    assert {"placement.months_employed", "placement.cross_province", "worker.categories", "as_of"} <= names
