"""The factor weights the ranker uses: the hand-set ones (`features.ScoreWeights`), or, with
`EW_MATCHING_WEIGHTS=learned`, those fitted to the outcomes of the platform's own placements (learning.py).

A fit is made once a day from matching's applications and placements and kept (`WeightFit`), whether used or not;
it is used only when it beat the hand-set weights on the newer outcomes (`LearnedFit.better`), and a restart starts
from the last kept fit. Ranking features are read from the same read models the index holds, through the same
mapping (`features.job_features`, `index_pages.worker_of`), in a worker thread.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling, wait_event
from libs.db import beijing_date, utcnow
from libs.observability import get_logger
from services.matching import learning, repository
from services.matching.features import ScoreWeights, job_features
from services.matching.index import IndexHolder
from services.matching.index_pages import worker_of
from services.matching.models import JobView, WeightFit, WorkerView
from services.matching.ranker import MatchIndex

log = get_logger("ew.matching.weights")
DAY = 86400.0


def in_use(fit: WeightFit | None, hand: ScoreWeights) -> ScoreWeights:
    """The learned weights when the fit did better than the hand-set ones, else the hand-set ones."""
    return replace(hand, **fit.weights) if fit is not None and fit.better else hand


def _known_on(declined: bool, start: date | None, ended: date | None, changed: datetime) -> date:
    """When an outcome became known, to split older from newer."""
    if declined or start is None:
        return changed.astimezone(UTC).date()
    if ended is not None and ended < start + timedelta(days=learning.KEPT_DAYS):
        return ended
    return start + timedelta(days=learning.KEPT_DAYS)


def _factors(
    pairs: list[tuple[str, str]],
    jobs: dict[str, JobView],
    workers: dict[str, WorkerView],
    hand: ScoreWeights,
    today: date,
) -> npt.NDArray[np.float64]:
    index = MatchIndex(weights=hand)
    index.upsert_jobs(job_features(jobs[job_id].job(), today) for job_id in {j for _, j in pairs})
    index.upsert_workers(worker_of(workers[person_id])[0] for person_id in {p for p, _ in pairs})
    return index.factors([p for p, _ in pairs], [j for _, j in pairs])


async def learn(sessions: async_sessionmaker[AsyncSession], hand: ScoreWeights, today: date) -> WeightFit:
    """Fit the weights to every outcome known on `today`, judge them against `hand`, and keep the fit."""
    async with sessions() as session:
        found = await repository.outcomes(session)
        labelled = [
            (person_id, job_id, label, _known_on(declined, start, ended, changed))
            for person_id, job_id, declined, start, ended, changed in found
            if (
                label := learning.label_of(
                    declined_offer=declined, start_date=start, ended_on=ended, today=today
                )
            )
            is not None
        ]
        jobs = await repository.jobs_by_id(session, {job_id for _, job_id, _, _ in labelled})
        workers = await repository.workers_by_id(session, {person_id for person_id, _, _, _ in labelled})
    usable = [
        item for item in labelled if item[1] in jobs and item[0] in workers and not workers[item[0]].erased
    ]
    pairs = [(person_id, job_id) for person_id, job_id, _, _ in usable]
    x = await asyncio.to_thread(_factors, pairs, jobs, workers, hand, today)
    y = np.array([label for _, _, label, _ in usable], dtype=np.bool_)
    fitted = await asyncio.to_thread(learning.compare, x, y, [on for *_, on in usable], hand)
    row = WeightFit(
        id=str(uuid.uuid4()),
        fitted_at=utcnow(),
        weights=fitted.weights,
        outcomes=fitted.outcomes,
        positives=fitted.positives,
        judged_on=fitted.judged_on,
        auc_hand=fitted.auc_hand,
        auc_learned=fitted.auc_learned,
        better=fitted.better,
    )
    async with sessions() as session, session.begin():
        session.add(row)
    return row


async def run_learning(
    holder: IndexHolder, sessions: async_sessionmaker[AsyncSession], every_seconds: float = DAY
) -> None:
    """Start from the last kept fit, then fit again every `every_seconds` (a day), using a fit only when it did
    better than the hand-set weights. A failed fit changes nothing and is tried again next time."""
    hand = holder.hand_weights
    async with sessions() as session:
        last = await repository.latest_fit(session)
    holder.use_weights(in_use(last, hand))
    due = last is None or (utcnow() - last.fitted_at).total_seconds() >= every_seconds
    while True:
        if due:
            try:
                fit = await learn(sessions, hand, beijing_date())
                holder.use_weights(in_use(fit, hand))
                log.info(
                    "weights.fitted",
                    outcomes=fit.outcomes,
                    auc_hand=fit.auc_hand,
                    auc_learned=fit.auc_learned,
                    used=fit.better,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                raise_if_cancelling(error)
                log.warning("weights.fit_failed", error=str(error))
        await wait_event(asyncio.Event(), every_seconds)
        due = True
