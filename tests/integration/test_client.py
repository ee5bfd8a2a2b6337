"""A typed Python client generated from the merged OpenAPI document (openapi-python-client, once per test
session, in a temporary folder) makes real calls against a running platform: an admin creates an employer
and reads it back, and a refusal comes back as the typed Problem.

The document is the one the platform serves at /openapi.json (checked here); the generator's config gives
the package an ASCII name (`eastwest_client`) whatever the document's title."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eastwest.services import platform_openapi
from tests.factories import credit_code
from tests.harness import Platform, token

PACKAGE = "eastwest_client"
CONFIG = f"""\
project_name_override: eastwest-client
package_name_override: {PACKAGE}
post_hooks: []
"""


@pytest.fixture
def database_backend() -> str:
    """The client is what this test is about; both databases are covered by the supply tests."""
    return "sqlite"


@pytest.fixture(scope="session")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Generate the client from the merged document (warnings are failures: a missing model or response would
    go unnoticed otherwise), put it on sys.path, import it."""
    folder = tmp_path_factory.mktemp("openapi-client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(platform_openapi(), ensure_ascii=False), encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_the_served_document_is_the_one_the_client_is_generated_from(platform: Platform) -> None:
    served = (await platform.client.get("/openapi.json")).json()
    assert served == json.loads(json.dumps(platform_openapi()))


async def test_generated_client_creates_and_reads_an_employer(
    platform: Platform, client_package: ModuleType
) -> None:
    client_module = module(client_package, "client")
    create_employer = module(client_package, "api.supply.create_employer")
    get_employer = module(client_package, "api.supply.get_employer")
    models = module(client_package, "models")

    body = models.EmployerCreate(
        name="无锡智能装备有限公司", credit_code=credit_code(), city_code="3202", assistance_base=True
    )
    async with client_module.AuthenticatedClient(
        base_url=platform.base_url, token=token("admin", sub="client-admin")
    ) as api:
        created = await create_employer.asyncio_detailed(client=api, body=body)
        assert created.status_code == 201, created.content
        employer = created.parsed
        assert isinstance(employer, models.Employer)
        assert (employer.name, employer.city_code, employer.assistance_base) == (
            "无锡智能装备有限公司",
            "3202",
            True,
        )

        read = await get_employer.asyncio(employer_id=employer.id, client=api)
        assert isinstance(read, models.Employer)
        assert (read.id, read.credit_code, read.created_at) == (
            employer.id,
            body.credit_code,
            employer.created_at,
        )

        # the same credit code again: a 409, parsed into the typed problem
        again = await create_employer.asyncio_detailed(client=api, body=body)
        assert again.status_code == 409
        assert isinstance(again.parsed, models.Problem)
        assert again.parsed.status == 409 and again.parsed.title

    # without a token: 401, the typed problem again
    async with client_module.Client(base_url=platform.base_url) as anonymous:
        refused = await get_employer.asyncio_detailed(employer_id=employer.id, client=anonymous)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Problem)


def test_the_generated_package_has_every_service(client_package: ModuleType) -> None:
    api = Path(client_package.__file__).parent / "api"
    assert {path.name for path in api.iterdir() if path.is_dir() and path.name != "__pycache__"} >= {
        "stations",
        "demand",
        "supply",
        "training",
        "matching",
        "feed",
        "bus",
    }
    assert (api / "bus" / "create_trip.py").exists()
