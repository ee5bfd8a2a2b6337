"""A new personal-data key: old rows still read, rotation re-encrypts them, the old key can then go."""

from __future__ import annotations

from sqlalchemy import select

from libs import migrations
from libs.auth import Principal, Role
from libs.db import create_engine, session_factory
from libs.pii import PiiVault
from services.demand.keys import rotate
from services.demand.models import Person, Station
from services.demand.schemas import PersonCreate
from services.demand.service import person_view, register_person
from tests.factories import person_body
from tests.harness import DatabaseFactory

OLD, NEW, HASH = b"o" * 32, b"n" * 32, b"h" * 32


async def test_rotation_re_encrypts_and_keeps_lookups(databases: DatabaseFactory) -> None:
    url = await databases.create("demand")
    await migrations.upgrade("demand", url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    admin = Principal(sub="admin", role=Role.admin)
    old_vault = PiiVault({"k1": OLD}, "k1", HASH)
    async with sessions() as session, session.begin():
        session.add(
            Station(id="s1", version=1, name="站", province_code="61", partner_city_code="3205", active=True)
        )
        await session.flush()
        for serial in range(3):
            data = PersonCreate.model_validate(person_body("s1", serial, note="老乡推荐"))
            await register_person(session, old_vault, admin, data)

    both = PiiVault({"k1": OLD, "k2": NEW}, "k2", HASH)
    assert await rotate(sessions, both, batch_size=2) == 3  # three people, two batches
    new_only = PiiVault({"k2": NEW}, "k2", HASH)
    async with sessions() as session:
        people = (await session.scalars(select(Person))).all()
        assert all(
            person.id_number_encrypted and person.id_number_encrypted.startswith("k2:") for person in people
        )
        names = sorted(person_view(new_only, person).name or "" for person in people)
    assert names == sorted(person_body("s1", serial)["name"] for serial in range(3))
    assert await rotate(sessions, new_only) == 0
    await engine.dispose()
