"""Learning the factor weights from what happened to placements: the platform's own history is its best label.

- **Labels** (`label_of`): a placement still held 90 days after it started is a positive; an offer the worker
  declined, or a placement that ended within 90 days, a negative. Anything younger is not yet known and left out.
- **Model**: the score stays the sum of visible contributions, weight x factor value (`ranker.FACTORS`: text
  similarity, occupation closeness, training, pay, dormitory), so a learned model is a set of `ScoreWeights` and
  every reason stays true. Each weight is the hand-set one times a learned multiplier (logistic regression on the
  outcomes, the multipliers' logarithms held towards 0: see `fit`), so none goes negative and a factor the
  outcomes cannot judge keeps its weight; the result is scaled to the hand-set total, so the policy boosts, which
  are never learned, weigh what they always did.
- **Evaluation** (`compare`): fitted on the older outcomes, judged on the newer ones (a time split, as the model
  would be used), by ROC AUC against the hand-set weights on the same pairs. A fit is used only when it was
  judged on enough outcomes and did better (`LearnedFit.better`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from .features import ScoreWeights
from .ranker import FACTORS

F64 = npt.NDArray[np.float64]

KEPT_DAYS = 90
MIN_OUTCOMES = 200  # fewer judged outcomes than this and a fit is not trusted
MIN_EACH = 20  # nor with fewer positives or negatives than this among them
TEST_SHARE = 0.3
MAX_LOG_MULTIPLIER = 3.0  # a learned weight stays within e^-3 to e^3 (1/20 to 20 times) of the hand-set one
PRIOR = 0.02  # how strongly a factor's weight is held to its hand-set value (see `fit`)


def label_of(
    *,
    declined_offer: bool,
    start_date: date | None,
    ended_on: date | None,
    today: date,
) -> bool | None:
    """True: kept 90 days. False: an offer declined, or a placement ended within 90 days. None: not yet known."""
    if declined_offer:
        return False
    if start_date is None:
        return None
    kept_until = start_date + timedelta(days=KEPT_DAYS)
    if ended_on is not None and ended_on < kept_until:
        return False
    return True if kept_until <= today else None


def hand_vector(weights: ScoreWeights) -> F64:
    return np.array([getattr(weights, name) for name in FACTORS], dtype=np.float64)


def with_factors(weights: ScoreWeights, values: F64) -> ScoreWeights:
    return replace(weights, **{name: float(value) for name, value in zip(FACTORS, values, strict=True)})


def fit(x: F64, y: npt.NDArray[np.bool_], hand: ScoreWeights, strength: float = PRIOR) -> F64:
    """Weights for the factors: the hand-set ones, each multiplied by exp(theta) where the outcomes show it
    should weigh more or less, then scaled to the hand-set total. Logistic regression over
    margin = c * sum(hand_f * exp(theta_f) * x_f) + b, with `strength` * sum(theta^2) as the penalty: a factor the
    data says little about (one that hardly varies among the pairs people applied to, such as the occupation,
    which the list already matched) keeps its hand-set weight instead of drifting to nothing."""
    target = y.astype(np.float64)
    h = hand_vector(hand)
    n_factors = x.shape[1]

    def loss(params: F64) -> tuple[float, F64]:
        theta, log_c, b = params[:n_factors], params[n_factors], params[n_factors + 1]
        u = x * (h * np.exp(theta))
        fitted = u.sum(axis=1)
        c = math.exp(log_c)
        margin = c * fitted + b
        p = expit(margin)
        residual = (p - target) / len(y)
        value = float(np.logaddexp(0.0, margin).sum() - (target * margin).sum()) / len(y)
        value += strength * float(theta @ theta)
        gradient = np.empty_like(params)
        gradient[:n_factors] = c * (u.T @ residual) + 2 * strength * theta
        gradient[n_factors] = float(residual @ (c * fitted))
        gradient[n_factors + 1] = float(residual.sum())
        return value, gradient

    start = np.zeros(n_factors + 2)
    bounds = [(-MAX_LOG_MULTIPLIER, MAX_LOG_MULTIPLIER)] * n_factors + [(-20.0, 20.0), (None, None)]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    learned = h * np.exp(result.x[:n_factors])
    return np.asarray(learned * (h.sum() / learned.sum()), dtype=np.float64)


def auc(scores: F64, y: npt.NDArray[np.bool_]) -> float | None:
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, scores))


@dataclass(frozen=True)
class LearnedFit:
    weights: dict[str, float]  # the learned factors' weights
    outcomes: int  # labelled pairs in all
    positives: int
    judged_on: int  # the newer share the fit was judged on
    auc_hand: float | None
    auc_learned: float | None

    @property
    def better(self) -> bool:
        """Judged on enough outcomes of both kinds, and better than the hand-set weights there."""
        return (
            self.judged_on >= MIN_OUTCOMES * TEST_SHARE
            and self.auc_hand is not None
            and self.auc_learned is not None
            and self.auc_learned > self.auc_hand
        )


def compare(x: F64, y: npt.NDArray[np.bool_], when: list[date], hand: ScoreWeights) -> LearnedFit:
    """Fit on the older (1 - TEST_SHARE) of the outcomes, judge against the hand-set weights on the newer, and
    report the weights fitted on all of them (what would be used)."""
    order = np.argsort(np.array([day.toordinal() for day in when]), kind="stable")
    x, y = x[order], y[order]
    cut = round(len(y) * (1 - TEST_SHARE))
    enough = len(y) >= MIN_OUTCOMES and min(int(y.sum()), int((~y).sum())) >= MIN_EACH
    auc_hand = auc_learned = None
    if enough and 0 < cut < len(y) and y[:cut].any() and not y[:cut].all():
        trained = fit(x[:cut], y[:cut], hand)
        auc_hand = auc(x[cut:] @ hand_vector(hand), y[cut:])
        auc_learned = auc(x[cut:] @ trained, y[cut:])
    final = fit(x, y, hand) if enough else hand_vector(hand)
    return LearnedFit(
        weights=dict(zip(FACTORS, (round(float(v), 6) for v in final), strict=True)),
        outcomes=len(y),
        positives=int(y.sum()),
        judged_on=len(y) - cut if auc_hand is not None else 0,
        auc_hand=auc_hand,
        auc_learned=auc_learned,
    )


assert set(FACTORS) <= {f.name for f in fields(ScoreWeights)}
