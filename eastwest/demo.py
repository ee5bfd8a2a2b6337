"""Load the demo data set through the public API, the way a real client would (validation included)."""

from __future__ import annotations

import httpx

from eastwest.demo_data import demo_employers, demo_jobs
from libs.auth import Role, issue_token
from libs.settings import Settings


async def load_demo(base_url: str, settings: Settings) -> tuple[int, int]:
    """Idempotent: employers are unique by credit code; jobs are posted only on the first load."""
    assert settings.jwt_secret is not None
    token = issue_token(
        settings.jwt_secret.get_secret_value(),
        role=Role.admin,
        sub="demo-loader",
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    headers = {"Authorization": f"Bearer {token}"}
    created: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        employers = demo_employers()
        for employer in employers:
            response = await client.post("/v1/employers", json=employer)
            if response.status_code == 201:
                created[str(employer["credit_code"])] = response.json()["id"]
            elif response.status_code != 409:
                response.raise_for_status()
        jobs = 0
        for job in demo_jobs(created) if len(created) == len(employers) else []:
            response = await client.post("/v1/jobs", json=job)
            response.raise_for_status()
            jobs += 1
    return len(created), jobs
