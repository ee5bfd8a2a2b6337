"""Workers' names, masked ID numbers and (only when asked) phones, read from demand at the moment a document
that shows them is made: a bus trip's manifest, an eligible-for-policy list's export. The services that make
those documents keep no personal data; this is the platform's one deliberate synchronous call between
services, narrow and authenticated by the shared internal secret. Nothing of the answer is logged, stored or
cached."""

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

log = get_logger("ew.contacts")

PATH = "/internal/v1/person-contacts"
BATCH = 1000  # demand's limit per request
TIMEOUT_SECONDS = 5.0
UNAVAILABLE = "暂时无法取得人员信息，请稍后重试"


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
    return Problem(503, UNAVAILABLE, slug="person-contacts-unavailable", headers={"Retry-After": "5"})


class PersonContacts:
    """Demand's person-contacts endpoint, over the network (`base_url`) or in-process (`transport`, e.g.
    `httpx.ASGITransport(app=demand_app)` when all services share one process). `caller` names the service in
    traces and logs."""

    def __init__(
        self,
        *,
        secret: str,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
        caller: str = "bus",
    ) -> None:
        if (base_url is None) == (transport is None):
            raise ValueError("give demand's base_url or an in-process transport, not both")
        self._secret = secret
        self._base_url = (base_url or "http://demand").rstrip("/")
        self._transport = transport
        self._timeout = timeout
        self._caller = caller

    async def lookup(self, person_ids: Sequence[str], *, phones: bool = True) -> dict[str, Contact]:
        """Contacts by person id (phones only with `phones`: a list that shows none never receives them); ids
        demand does not know (or has erased) are absent. 503 problem when demand does not answer properly
        within the timeout."""
        wanted = list(dict.fromkeys(person_ids))
        if not wanted:
            return {}
        found: dict[str, Contact] = {}
        try:
            async with (
                asyncio.timeout(self._timeout),
                httpx.AsyncClient(
                    base_url=self._base_url,
                    transport=traced_transport(self._transport or httpx.AsyncHTTPTransport(), self._caller),
                    timeout=self._timeout,
                    headers={"Authorization": f"Internal {self._secret}"},
                    follow_redirects=False,
                ) as client,
            ):
                for start in range(0, len(wanted), BATCH):
                    found.update(await self._batch(client, wanted[start : start + BATCH], phones))
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("contacts.unavailable", caller=self._caller, error=type(error).__name__)
            raise unavailable() from error
        return found

    async def _batch(
        self, client: httpx.AsyncClient, person_ids: list[str], phones: bool
    ) -> dict[str, Contact]:
        response = await client.post(PATH, json={"person_ids": person_ids, "phones": phones})
        if not response.is_success:
            log.warning("contacts.refused", caller=self._caller, status=response.status_code)
            raise unavailable()
        try:
            answer = _Answer.model_validate_json(response.content)
        except ValidationError as error:
            log.warning("contacts.unreadable", caller=self._caller)
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


def contacts_from_settings(settings: Settings, caller: str) -> PersonContacts | None:
    """Over the network to EW_SERVICE_URLS["demand"] with EW_INTERNAL_SECRET; None when either is missing
    (all-in-one, the composition root sets an in-process one instead)."""
    base_url = settings.service_urls.get("demand")
    if not base_url or settings.internal_secret is None:
        return None
    return PersonContacts(
        secret=settings.internal_secret.get_secret_value(), base_url=base_url, caller=caller
    )


def contacts_of(request: Request) -> PersonContacts:
    """The app's client (`app.state.person_contacts`), or 503 when this deployment has none configured."""
    contacts: PersonContacts | None = getattr(request.app.state, "person_contacts", None)
    if contacts is None:
        log.warning("contacts.not_configured")
        raise unavailable()
    return contacts
