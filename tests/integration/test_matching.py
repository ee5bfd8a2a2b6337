"""Matching end to end through NATS: jobs and workers become rankable, the pipeline runs to placement, and the
placement fills the job, moves the worker's status, and ends with a warning when it ends."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from libs.db import beijing_date
from tests.factories import employer_body, job_body, person_body
from tests.harness import ADMIN, Platform, auth, eventually
from tests.integration.test_demand import new_station

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching")


async def new_employer(platform: Platform) -> str:
    response = await platform.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_job(platform: Platform, employer_id: str, **overrides: Any) -> str:
    body = job_body(employer_id, occupation_code="6-25-04-07", **overrides)
    response = await platform.client.post(
        "/v1/jobs", json=body, headers=auth("recruiter", employer_id=employer_id)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_worker(platform: Platform, station_id: str, serial: int, **overrides: Any) -> str:
    body = person_body(station_id, serial, **overrides)
    body["intention"] = {
        "occupation_codes": ["6-25-04-07"],
        "keywords": "电子 装配 流水线",
        "city_codes": ["3205"],
        "min_salary": 4500,
        "needs_dormitory": True,
    }
    response = await platform.client.post("/v1/persons", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def recommended(platform: Platform, person_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await platform.client.get(f"/v1/persons/{person_id}/recommendations", headers=headers)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def ready_pair(platform: Platform, headcount: int = 30) -> tuple[str, str, str, str]:
    """(station, worker, employer, job), the job already in the worker's recommendations."""
    station_id = await new_station(platform)
    worker_id = await new_worker(platform, station_id, 1)
    employer_id = await new_employer(platform)
    job_id = await new_job(platform, employer_id, headcount=headcount)
    station = auth("station", station_id=station_id)

    async def rankable() -> bool:
        return job_id in [item["job_id"] for item in await recommended(platform, worker_id, station)]

    await eventually(rankable, what="the new job among the worker's recommendations")
    return station_id, worker_id, employer_id, job_id


async def test_new_job_is_recommended_with_reasons(platform: Platform) -> None:
    station_id, worker_id, employer_id, job_id = await ready_pair(platform)
    items = await recommended(platform, worker_id, auth("station", station_id=station_id))
    first = next(item for item in items if item["job_id"] == job_id)
    assert first["reasons"] and all(reason["label"] and reason["code"] for reason in first["reasons"])
    assert first["title"] == "电子产品装配工" and first["city_code"] == "3205"
    # both ways: the worker is a candidate for the recruiter, as a random id with reasons
    recruiter = auth("recruiter", employer_id=employer_id)
    response = await platform.client.get(f"/v1/jobs/{job_id}/candidates", headers=recruiter)
    assert response.status_code == 200
    assert worker_id in [item["person_id"] for item in response.json()["items"]]
    assert "name" not in response.text and "id_number" not in response.text
    # scope: another station, another province, another employer
    other_station = await new_station(platform, "52")
    assert (
        await platform.client.get(
            f"/v1/persons/{worker_id}/recommendations", headers=auth("station", station_id=other_station)
        )
    ).status_code == 404
    assert (
        await platform.client.get(
            f"/v1/persons/{worker_id}/recommendations", headers=auth("partner", provinces=["52"])
        )
    ).status_code == 404
    assert (
        await platform.client.get(
            f"/v1/jobs/{job_id}/candidates", headers=auth("recruiter", employer_id="other")
        )
    ).status_code == 404
    guizhou = await platform.client.get(
        f"/v1/jobs/{job_id}/candidates", headers=auth("partner", provinces=["52"])
    )
    assert guizhou.status_code == 200 and guizhou.json()["items"] == []
    # a closed job leaves the recommendations
    assert (await platform.client.post(f"/v1/jobs/{job_id}/close", headers=recruiter)).status_code == 200

    async def gone() -> bool:
        items = await recommended(platform, worker_id, ADMIN)
        return job_id not in [item["job_id"] for item in items]

    await eventually(gone, what="the closed job leaves the recommendations")


async def test_pipeline_to_placement_fills_the_job_and_employs_the_worker(platform: Platform) -> None:
    station_id, worker_id, employer_id, job_id = await ready_pair(platform, headcount=1)
    station = auth("station", station_id=station_id)
    recruiter = auth("recruiter", employer_id=employer_id)
    body = {"person_id": worker_id, "job_id": job_id, "channel": "station"}
    applied = await platform.client.post(
        "/v1/applications", json=body, headers={**station, "Idempotency-Key": "a1"}
    )
    assert applied.status_code == 201, applied.text
    again = await platform.client.post(
        "/v1/applications", json=body, headers={**station, "Idempotency-Key": "a1"}
    )
    assert again.json() == applied.json()
    application = applied.json()["id"]
    path = f"/v1/applications/{application}"
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).json()["status"] == "offered"
    assert (await platform.client.post(f"{path}/accept", headers=station)).json()["status"] == "accepted"
    start = (beijing_date() - timedelta(days=10)).isoformat()
    placed = await platform.client.post(
        f"{path}/place", json={"start_date": start, "needs_transport": True}, headers=recruiter
    )
    assert placed.status_code == 200 and placed.json()["status"] == "placed", placed.text
    placement_id = placed.json()["placement_id"]

    async def job_closed() -> bool:
        job = (await platform.client.get(f"/v1/jobs/{job_id}", headers=recruiter)).json()
        return job["status"] == "closed" and job["headcount_left"] == 0

    await eventually(job_closed, what="the filled job closes in supply")

    async def employed() -> bool:
        person = (await platform.client.get(f"/v1/persons/{worker_id}", headers=station)).json()
        return person["status"] == "employed"

    await eventually(employed, what="demand marks the worker employed")
    js = platform.runtime("matching").bus.js
    confirmed = json.loads((await js.get_last_msg("EW", "ew.matching.placement.confirmed")).data)["data"]
    assert confirmed["needs_transport"] is True and confirmed["city_code"] == "3205"
    assert confirmed["station_id"] == station_id and "name" not in confirmed

    early = await platform.client.post(
        f"/v1/placements/{placement_id}/end",
        json={"ended_on": (beijing_date() - timedelta(days=20)).isoformat(), "reason": "合同到期"},
        headers=recruiter,
    )
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "body.ended_on"
    end = {"ended_on": beijing_date().isoformat(), "reason": "合同到期"}
    ended = await platform.client.post(f"/v1/placements/{placement_id}/end", json=end, headers=station)
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    again = await platform.client.post(f"/v1/placements/{placement_id}/end", json=end, headers=recruiter)
    assert again.status_code == 409

    async def warned() -> bool:
        warnings = (await platform.client.get("/v1/warnings", headers=station)).json()["items"]
        return [(w["person_id"], w["kind"]) for w in warnings] == [(worker_id, "placement_ended")]

    await eventually(warned, what="the station is warned that the placement ended")


async def test_illegal_transitions_and_sides_are_refused(platform: Platform) -> None:
    station_id, worker_id, employer_id, job_id = await ready_pair(platform)
    station = auth("station", station_id=station_id)
    recruiter = auth("recruiter", employer_id=employer_id)
    applied = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker_id, "job_id": job_id, "channel": "livestream"},
        headers=station,
    )
    path = f"/v1/applications/{applied.json()['id']}"

    async def refused(action: str, headers: dict[str, str], status: int, json_body: Any = None) -> None:
        response = await platform.client.post(f"{path}/{action}", json=json_body, headers=headers)
        assert response.status_code == status, (action, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")

    place = {"start_date": "2026-12-01", "needs_transport": False}
    await refused("accept", station, 409)  # nothing offered yet
    await refused("place", recruiter, 409, place)
    await refused("offer", station, 403)  # the worker's side cannot offer
    await refused("offer", auth("recruiter", employer_id="someone-else"), 404)
    await refused("offer", auth("station", station_id="another"), 404)
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
    await refused("offer", recruiter, 409)
    await refused("accept", recruiter, 403)  # the employer cannot accept for the worker
    assert (await platform.client.post(f"{path}/decline", headers=station)).status_code == 200
    await refused("accept", station, 409)
    await refused("place", recruiter, 409, place)
    duplicate = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker_id, "job_id": job_id, "channel": "station"},
        headers=station,
    )
    assert duplicate.status_code == 409
    recruiter_applies = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker_id, "job_id": job_id, "channel": "onsite"},
        headers=recruiter,
    )
    assert recruiter_applies.status_code == 403


async def test_allocation_respects_headcounts(platform: Platform) -> None:
    station_id = await new_station(platform)
    workers = [await new_worker(platform, station_id, serial) for serial in range(6)]
    employer_id = await new_employer(platform)
    best = await new_job(platform, employer_id, headcount=2, salary_min=7000, salary_max=9000)
    others = [await new_job(platform, employer_id, headcount=3, title=f"电子装配工{i}号线") for i in range(2)]
    station = auth("station", station_id=station_id)

    async def all_ranked() -> bool:
        for worker in workers:
            items = {item["job_id"] for item in await recommended(platform, worker, station)}
            if not {best, *others} <= items:
                return False
        return True

    await eventually(all_ranked, what="every worker ranks every job")
    response = await platform.client.post(
        "/v1/allocations", json={"station_id": station_id, "top_k": 5}, headers=station
    )
    assert response.status_code == 200, response.text
    result = response.json()
    per_job: dict[str, int] = {}
    for assignment in result["assignments"]:
        per_job[assignment["job_id"]] = per_job.get(assignment["job_id"], 0) + 1
    assert per_job.get(best, 0) <= 2 and all(per_job.get(job, 0) <= 3 for job in others)
    assert result["stats"]["oversubscribed_jobs"] == 0
    assert len(result["assignments"]) + len(result["unassigned"]) == 6
    assert (
        await platform.client.post(
            "/v1/allocations", json={"station_id": station_id}, headers=auth("station", station_id="another")
        )
    ).status_code == 404
    assert (
        await platform.client.post(
            "/v1/allocations", json={"province_code": "52"}, headers=auth("partner", provinces=["61"])
        )
    ).status_code == 404


async def test_why_not_and_the_whole_ranked_list(platform: Platform) -> None:
    """A clerk asks why a job is not recommended and gets the filters in words; lists page to their end."""
    station_id, worker_id, employer_id, job_id = await ready_pair(platform)
    station = auth("station", station_id=station_id)
    recruiter = auth("recruiter", employer_id=employer_id)
    unfit = await new_job(
        platform, employer_id, city_code="3201", age_max=30, certificates_required=["焊工证"]
    )
    more = [await new_job(platform, employer_id, title=f"装配工 {i}") for i in range(4)]

    async def pair(job: str, headers: dict[str, str]) -> dict[str, Any]:
        response = await platform.client.get(
            "/v1/matches", params={"person_id": worker_id, "job_id": job}, headers=headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def all_known() -> bool:  # in matching's read model (404 until then) and in its index (a score)
        for job in (unfit, *more):
            response = await platform.client.get(
                "/v1/matches", params={"person_id": worker_id, "job_id": job}, headers=station
            )
            if response.status_code == 404 or response.json()["score"] is None:
                return False
        return True

    await eventually(all_known, what="the new jobs in the index")
    fit = await pair(job_id, station)
    assert fit["matched"] and fit["failed"] == [] and fit["reasons"]
    assert 1 <= fit["place_for_worker"] <= fit["jobs_for_worker"] == 5 and fit["place_for_job"] == 1
    why = await pair(unfit, station)
    assert not why["matched"] and why["place_for_worker"] is None
    age = (await platform.client.get(f"/v1/persons/{worker_id}", headers=station)).json()["age"]
    assert {item["code"]: item["detail"] for item in why["failed"]} == {
        "too_old": f"年龄 {age} 岁，岗位要求 30 岁以下，超出 {age - 30} 岁",
        "city": "岗位在南京市，意向城市为苏州市",
        "certificates": "缺少：焊工证",
    }
    # a recruiter sees its own job's candidates, not who fails its filters nor where its job stands for them
    seen = await pair(job_id, recruiter)
    assert seen["place_for_job"] == 1 and seen["place_for_worker"] is None
    for headers, job in ((recruiter, unfit), (auth("station", station_id="other"), job_id)):
        response = await platform.client.get(
            "/v1/matches", params={"person_id": worker_id, "job_id": job}, headers=headers
        )
        assert response.status_code == 404
    # the whole list, one item a page
    path = f"/v1/persons/{worker_id}/recommendations"
    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = (await platform.client.get(path, params=params, headers=station)).json()
        pages += [item["job_id"] for item in body["items"]]
        assert body["total"] == 5
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(pages) == sorted([job_id, *more]) and len(pages) == len(set(pages))
    bad = await platform.client.get(path, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=station)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    # spreading is planned once the index is loaded, and its figures are exported
    metrics = (await platform.client.get("/metrics")).text
    assert 'ew_matching_exposure{figure="gini",when="after"}' in metrics


async def test_weights_are_fitted_to_outcomes_and_kept(platform: Platform) -> None:
    """Three outcomes (kept 90 days, ended early, an offer declined) are too few to trust: the fit is kept for
    the record and the hand-set weights stay in use. Only an admin sees or asks for fits."""
    station_id, first, employer_id, job_id = await ready_pair(platform)
    station = auth("station", station_id=station_id)
    recruiter = auth("recruiter", employer_id=employer_id)
    others = [await new_worker(platform, station_id, serial) for serial in (2, 3)]

    async def offered(person_id: str) -> str:
        body = {"person_id": person_id, "job_id": job_id, "channel": "station"}

        async def known() -> bool:
            response = await platform.client.post("/v1/applications", json=body, headers=station)
            if response.status_code == 201:
                applications.append(response.json()["id"])
            return response.status_code == 201

        applications: list[str] = []
        await eventually(known, what="the worker known to matching")
        path = f"/v1/applications/{applications[0]}"
        assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
        return path

    long_ago = (beijing_date() - timedelta(days=120)).isoformat()
    for person_id, ends in ((first, False), (others[0], True)):
        path = await offered(person_id)
        assert (await platform.client.post(f"{path}/accept", headers=station)).status_code == 200
        placed = await platform.client.post(
            f"{path}/place", json={"start_date": long_ago, "needs_transport": False}, headers=recruiter
        )
        assert placed.status_code == 200, placed.text
        if ends:
            end = {"ended_on": (beijing_date() - timedelta(days=100)).isoformat(), "reason": "不适应夜班"}
            ended = await platform.client.post(
                f"/v1/placements/{placed.json()['placement_id']}/end", json=end, headers=station
            )
            assert ended.status_code == 200, ended.text
    declined = await offered(others[1])
    assert (await platform.client.post(f"{declined}/decline", headers=station)).status_code == 200

    assert (await platform.client.post("/v1/match-weights/fits", headers=station)).status_code == 403
    fit = await platform.client.post("/v1/match-weights/fits", headers=ADMIN)
    assert fit.status_code == 201, fit.text
    assert (fit.json()["outcomes"], fit.json()["positives"], fit.json()["better"]) == (3, 1, False)
    seen = (await platform.client.get("/v1/match-weights", headers=ADMIN)).json()
    assert seen["mode"] == "hand" and seen["in_use"] == seen["hand"]
    assert seen["latest_fit"]["outcomes"] == 3 and seen["hand"]["occupation"] == 0.35
