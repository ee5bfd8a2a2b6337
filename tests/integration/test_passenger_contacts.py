"""Demand's one internal read of personal data (a trip manifest's passenger contacts), through the real
platform: the internal secret, not a user's token; full phones and masked ID numbers; unknown and erased workers
absent; and bus's client over the in-process transport sees the same."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import SecretStr

from libs.api.problems import Problem
from libs.contacts import Contact, PersonContacts, contacts_from_settings
from libs.settings import Settings
from tests.factories import person_body
from tests.harness import ADMIN, INTERNAL_SECRET, Platform
from tests.integration.test_demand import new_station, register, station_token

pytestmark = pytest.mark.services("stations", "demand", "bus")

PATH = "/internal/v1/person-contacts"
INTERNAL = {"Authorization": f"Internal {INTERNAL_SECRET}"}


def in_process_contacts(platform: Platform) -> PersonContacts:
    """Bus's own client: all-in-one, the composition root points it at the demand app in this process."""
    contacts = platform.gateway.services["bus"].state.person_contacts
    assert isinstance(contacts, PersonContacts)
    return contacts


async def test_contacts_for_known_workers_only(platform: Platform) -> None:
    station_id = await new_station(platform)
    workers = [await register(platform, station_id, serial) for serial in (1, 2, 3)]
    bodies = [person_body(station_id, serial) for serial in (1, 2, 3)]
    deleted = await platform.client.delete(
        f"/v1/persons/{workers[2]['id']}", headers=station_token(station_id)
    )
    assert deleted.status_code == 204
    unknown = str(uuid.uuid4())
    asked = [workers[1]["id"], unknown, workers[0]["id"], workers[2]["id"], workers[0]["id"]]

    response = await platform.client.post(PATH, json={"person_ids": asked}, headers=INTERNAL)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    items = response.json()["items"]
    assert [item["person_id"] for item in items] == [workers[1]["id"], workers[0]["id"]]
    for item, body in zip(items, [bodies[1], bodies[0]], strict=True):
        number = body["id_number"]
        assert item["name"] == body["name"]
        assert item["phone"] == body["phone"]
        assert item["phone_masked"] == body["phone"][:3] + "****" + body["phone"][-4:]
        assert item["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
        assert number not in response.text

    # bus's client, in-process, sees the same
    contacts = await in_process_contacts(platform).lookup(asked)
    assert contacts == {
        item["person_id"]: Contact(
            name=item["name"],
            id_number_masked=item["id_number_masked"],
            phone=item["phone"],
            phone_masked=item["phone_masked"],
        )
        for item in items
    }
    assert await in_process_contacts(platform).lookup([]) == {}


async def test_the_internal_secret_is_required(platform: Platform) -> None:
    body = {"person_ids": [str(uuid.uuid4())]}
    refused = [
        {},
        ADMIN,  # a user's token is not the internal secret, not even an admin's
        {"Authorization": "Internal wrong-secret"},
        {"Authorization": f"Bearer {INTERNAL_SECRET}"},
        {"Authorization": "Internal"},
        {"Authorization": f"Internal {INTERNAL_SECRET}x"},
    ]
    for headers in refused:
        response = await platform.client.post(PATH, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Internal"
    # authentication comes before the body is looked at
    response = await platform.client.post(PATH, json={"person_ids": []}, headers={})
    assert response.status_code == 401
    # bus's client with the wrong secret: the manifest cannot be made now, 503
    demand = platform.gateway.services["demand"]
    wrong = PersonContacts(secret="wrong", transport=httpx.ASGITransport(app=demand))
    with pytest.raises(Problem) as raised:
        await wrong.lookup(["p1"])
    assert raised.value.status == 503


async def test_a_bad_body_is_422_naming_the_field(platform: Platform) -> None:
    cases = {
        "body.person_ids": [{"person_ids": []}, {"person_ids": ["x"] * 1001}, {}, {"person_ids": "p1"}],
        "body.person_ids.0": [{"person_ids": ["x" * 37]}, {"person_ids": [""]}],
        "body.other": [{"person_ids": ["p1"], "other": 1}],
    }
    for field, bodies in cases.items():
        for body in bodies:
            response = await platform.client.post(PATH, json=body, headers=INTERNAL)
            assert response.status_code == 422, (body, response.text)
            fields = [error["field"] for error in response.json()["errors"]]
            assert field in fields, (body, fields)
    response = await platform.client.post(PATH, content=b"person_ids=1", headers=INTERNAL)
    assert response.status_code == 415


async def test_unreachable_demand_is_503() -> None:
    contacts = PersonContacts(secret="s", base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(Problem) as raised:
        await contacts.lookup(["p1"])
    assert raised.value.status == 503 and raised.value.detail == "暂时无法取得人员信息，请稍后重试"


def test_client_from_settings() -> None:
    secret, urls = SecretStr("s"), {"demand": "http://demand:8000"}
    assert contacts_from_settings(Settings(internal_secret=secret, service_urls={}), "bus") is None
    assert contacts_from_settings(Settings(internal_secret=None, service_urls=urls), "bus") is None
    configured = contacts_from_settings(Settings(internal_secret=secret, service_urls=urls), "bus")
    assert isinstance(configured, PersonContacts)
