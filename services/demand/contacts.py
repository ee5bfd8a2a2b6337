"""The one internal read of personal data: bus asks for the contacts of a trip's passengers to print its
manifest, policy for the names and masked ID numbers of an eligible-for-policy list it exports (no phones). Not a public route (not in the OpenAPI, not routed by the production gateway), authenticated by the
shared internal secret instead of a user's token; nothing of the answer is logged or cached."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.api.app import runtime_of
from libs.api.problems import Problem
from libs.api.routing import ServiceRoute, Session
from libs.api.schemas import RequestModel
from libs.pii import PiiVault
from services.demand import repository
from services.demand.api import Vault
from services.demand.models import Person
from services.demand.service import PHONE

MAX_IDS = 1000
SCHEME = "Internal"


async def internal_caller(request: Request) -> None:
    """401 unless `Authorization: Internal <secret>` carries this deployment's internal secret."""
    secret = runtime_of(request).settings.internal_secret
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if (
        secret is None
        or scheme.lower() != SCHEME.lower()
        or not hmac.compare_digest(presented.strip().encode(), secret.get_secret_value().encode())
    ):
        raise Problem(401, "缺少或错误的内部调用凭据", headers={"WWW-Authenticate": SCHEME})


router = APIRouter(
    prefix="/internal/v1",
    include_in_schema=False,
    route_class=ServiceRoute,
    dependencies=[Depends(internal_caller)],
)


class ContactsQuery(RequestModel):
    person_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(
        min_length=1, max_length=MAX_IDS
    )
    phones: bool = True  # false: names and masked ID numbers only (a list that shows no phone)


class PersonContact(BaseModel):
    person_id: str
    name: str
    id_number_masked: str | None
    phone: str | None
    phone_masked: str | None


class PersonContacts(BaseModel):
    items: list[PersonContact]


def contact_of(vault: PiiVault, person: Person, phones: bool) -> PersonContact | None:
    if person.name_encrypted is None:
        return None
    return PersonContact(
        person_id=person.id,
        name=vault.decrypt(person.name_encrypted, "name"),
        id_number_masked=person.id_number_masked,
        phone=vault.decrypt(person.phone_encrypted, PHONE) if phones and person.phone_encrypted else None,
        phone_masked=person.phone_masked,
    )


@router.post("/person-contacts", response_model=PersonContacts)
async def person_contacts(query: ContactsQuery, session: Session, vault: Vault) -> JSONResponse:
    """Name, masked ID number and (unless `phones` is false) phone of each worker asked for that exists and is
    not erased."""
    wanted = list(dict.fromkeys(query.person_ids))
    found = {person.id: person for person in await repository.persons_by_ids(session, wanted)}
    items = [
        contact
        for person_id in wanted
        if person_id in found and (contact := contact_of(vault, found[person_id], query.phones)) is not None
    ]
    return JSONResponse(
        PersonContacts(items=items).model_dump(mode="json"), headers={"Cache-Control": "no-store"}
    )
