"""The leads' routes: the public sign-up (rate-limited) and the station's call-back list."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from libs.api.pagination import Page
from libs.api.problems import Problem
from libs.api.routing import (
    DEFAULT_LIMIT,
    Caller,
    Cursor,
    Limit,
    Session,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
)
from libs.proxies import request_client
from services.demand.api import Id, Vault
from services.demand.leads import service
from services.demand.leads.schemas import (
    LeadOut,
    LeadPatch,
    LeadPhone,
    LeadStatus,
    LiveSignupIn,
    LiveSignupOut,
)

router = service_router("demand")

# --- rate limit ---------------------------------------------------------------------------------------------


class TokenBucket:
    """Per-key token buckets in memory: `capacity` at once, refilled at `per_second`. The table keeps at most
    `max_keys` keys (the least recently seen go first), so a flood of addresses cannot grow it without bound."""

    def __init__(
        self,
        capacity: float = 20,
        per_second: float = 0.5,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when a token was taken; otherwise the seconds until one will be there."""
        now = self.clock()
        tokens, seen = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


LIMITER_STATE = "live_signup_limiter"


async def signup_rate_limit(request: Request) -> None:
    """Dependency of the public sign-up route: runs before the body is read or validated."""
    limiter = getattr(request.app.state, LIMITER_STATE, None)
    if limiter is None:
        limiter = TokenBucket()
        setattr(request.app.state, LIMITER_STATE, limiter)
    wait = limiter.take(request_client(request, request.app.state.runtime.settings.proxies))
    if wait > 0:
        raise Problem(
            429,
            "报名提交过于频繁，请稍后再试",
            headers={"Retry-After": str(math.ceil(wait))},
            retry_after_seconds=math.ceil(wait),
        )


# --- live-stream sign-ups and leads (services/demand/py) ----------------------------------------------


@router.post(
    "/live-signups",
    status_code=202,
    response_model=LiveSignupOut,
    responses={429: {}},
    dependencies=[Depends(signup_rate_limit)],
)
async def live_signup(data: LiveSignupIn, session: Session, vault: Vault) -> LiveSignupOut:
    """Public (the live-stream board posts here, no token): 202 报名已提交, the same for everyone. A registered
    worker's application follows; anyone else becomes a lead on the station's call-back list."""
    answer = await service.sign_up(session, vault, data)
    return answer


@router.get("/leads", response_model=Page[LeadOut])
async def list_leads(
    session: Session,
    caller: Caller,
    vault: Vault,
    station_id: Id | None = None,
    status: LeadStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[LeadOut]:
    rows = list(
        await service.list_leads(
            session, caller, station_id=station_id, status=status, after=time_id_cursor(cursor), limit=limit
        )
    )
    return Page(
        items=await service.lead_views(session, vault, rows), next_cursor=next_time_id_cursor(rows, limit)
    )


@router.patch("/leads/{lead_id}", response_model=LeadOut)
async def update_lead(
    lead_id: str, patch: LeadPatch, session: Session, caller: Caller, vault: Vault
) -> LeadOut:
    lead = await service.set_lead_status(session, caller, lead_id, patch)
    [view] = await service.lead_views(session, vault, [lead])
    return view


@router.delete("/leads/{lead_id}", status_code=204)
async def delete_lead(lead_id: str, session: Session, caller: Caller) -> Response:
    await service.delete_lead(session, caller, lead_id)
    return Response(status_code=204)


@router.get("/leads/{lead_id}/phone", response_model=LeadPhone)
async def lead_phone(lead_id: str, session: Session, caller: Caller, vault: Vault) -> JSONResponse:
    """The number to call back, for the lead's own station; not cached, and the reveal is logged."""
    phone = await service.reveal_phone(session, vault, caller, lead_id)
    return JSONResponse(phone.model_dump(), headers={"Cache-Control": "no-store"})
