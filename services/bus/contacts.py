"""Passenger contacts for a manifest, read from demand when the manifest is printed (bus keeps no personal
data): the platform's one deliberate synchronous call between services, narrow and authenticated by the shared
internal secret. Nothing of the answer is logged, stored or cached."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from fastapi import Request
from pydantic import BaseModel, ValidationError

from libs.api.problems import Problem
from libs.observability import get_logger, traced_transport
from libs.settings import Settings

log = get_logger("ew.bus.contacts")

PATH = "/internal/v1/passenger-contacts"
BATCH = 1000  # demand's limit per request
TIMEOUT_SECONDS = 5.0
UNAVAILABLE = "暂时无法取得乘客信息，请稍后重试"


@dataclass(frozen=True)
class Contact:
    name: str
    id_number_masked: str | None
    phone: str | None
    phone_masked: str | None


class _Item(BaseModel):
    person_id: str
    name: str
    id_number_masked: str | None = None
    phone: str | None = None
    phone_masked: str | None = None


class _Answer(BaseModel):
    items: list[_Item]


def unavailable() -> Problem:
    return Problem(503, UNAVAILABLE, slug="passenger-contacts-unavailable", headers={"Retry-After": "5"})


class PassengerContacts:
    """Demand's passenger-contacts endpoint, over the network (`base_url`) or in-process (`transport`, e.g.
    `httpx.ASGITransport(app=demand_app)` when all services share one process)."""

    def __init__(
        self,
        *,
        secret: str,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        if (base_url is None) == (transport is None):
            raise ValueError("give demand's base_url or an in-process transport, not both")
        self._secret = secret
        self._base_url = (base_url or "http://demand").rstrip("/")
        self._transport = transport
        self._timeout = timeout

    async def lookup(self, person_ids: Sequence[str]) -> dict[str, Contact]:
        """Contacts by person id; ids demand does not know (or has erased) are absent. 503 problem when demand
        does not answer properly within the timeout."""
        wanted = list(dict.fromkeys(person_ids))
        if not wanted:
            return {}
        found: dict[str, Contact] = {}
        try:
            async with (
                asyncio.timeout(self._timeout),
                httpx.AsyncClient(
                    base_url=self._base_url,
                    transport=traced_transport(self._transport or httpx.AsyncHTTPTransport(), "bus"),
                    timeout=self._timeout,
                    headers={"Authorization": f"Internal {self._secret}"},
                    follow_redirects=False,
                ) as client,
            ):
                for start in range(0, len(wanted), BATCH):
                    found.update(await self._batch(client, wanted[start : start + BATCH]))
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("bus.contacts_unavailable", error=type(error).__name__)
            raise unavailable() from error
        return found

    async def _batch(self, client: httpx.AsyncClient, person_ids: list[str]) -> dict[str, Contact]:
        response = await client.post(PATH, json={"person_ids": person_ids})
        if not response.is_success:
            log.warning("bus.contacts_refused", status=response.status_code)
            raise unavailable()
        try:
            answer = _Answer.model_validate_json(response.content)
        except ValidationError as error:
            log.warning("bus.contacts_unreadable")
            raise unavailable() from error
        return {
            item.person_id: Contact(
                name=item.name,
                id_number_masked=item.id_number_masked,
                phone=item.phone,
                phone_masked=item.phone_masked,
            )
            for item in answer.items
        }


def passenger_contacts_from_settings(settings: Settings) -> PassengerContacts | None:
    """Over the network to EW_SERVICE_URLS["demand"] with EW_INTERNAL_SECRET; None when either is missing
    (all-in-one, the composition root sets an in-process one instead)."""
    base_url = settings.service_urls.get("demand")
    if not base_url or settings.internal_secret is None:
        return None
    return PassengerContacts(secret=settings.internal_secret.get_secret_value(), base_url=base_url)


def passenger_contacts_of(request: Request) -> PassengerContacts:
    """The app's client (`app.state.passenger_contacts`), or 503 when this deployment has none configured."""
    contacts: PassengerContacts | None = getattr(request.app.state, "passenger_contacts", None)
    if contacts is None:
        log.warning("bus.contacts_not_configured")
        raise unavailable()
    return contacts
