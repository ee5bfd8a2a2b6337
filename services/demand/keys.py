"""Key rotation: after a new key becomes active, re-encrypt what the old keys wrote, batch by batch."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.pii import PiiVault
from services.demand.models import Person, StatusChange

PERSON_FIELDS = {
    "name_encrypted": "name",
    "id_number_encrypted": "id_number",
    "phone_encrypted": "phone",
    "note_encrypted": "note",
}


async def rotate(sessions: async_sessionmaker[AsyncSession], vault: PiiVault, batch_size: int = 500) -> int:
    """Returns how many rows were re-encrypted; safe to interrupt and run again (each batch commits)."""
    prefix = f"{vault.active_key_id}:%"
    rotated = 0
    while True:
        async with sessions() as session, session.begin():
            stale = or_(*(getattr(Person, column).not_like(prefix) for column in PERSON_FIELDS))
            people = (
                await session.scalars(select(Person).where(stale).limit(batch_size).with_for_update())
            ).all()
            for person in people:
                for column, field in PERSON_FIELDS.items():
                    token = getattr(person, column)
                    if token is not None and vault.needs_rotation(token):
                        setattr(person, column, vault.encrypt(vault.decrypt(token, field), field))
            notes = (
                await session.scalars(
                    select(StatusChange).where(StatusChange.note_encrypted.not_like(prefix)).limit(batch_size)
                )
            ).all()
            for change in notes:
                assert change.note_encrypted is not None
                change.note_encrypted = vault.encrypt(vault.decrypt(change.note_encrypted, "note"), "note")
        rotated += len(people) + len(notes)
        if len(people) < batch_size and len(notes) < batch_size:
            return rotated
