"""The few distributions detection needs, in standard-library math (no scipy in the domain).

Upper tails of the negative binomial, Poisson and binomial through the regularized incomplete
beta and gamma functions (Numerical Recipes' continued fractions), Simes and Benjamini-Hochberg.
Counts may be real-valued (quantities in smallest units): the tails are the continuous
extensions, which agree with the discrete ones at integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_EPS = 1e-14
_TINY = 1e-300
_MAX_ITER = 500


def _clamp(v: float) -> float:
    return v if abs(v) > _TINY else _TINY


def _beta_cf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 / _clamp(1.0 - qab * x / qap)
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / _clamp(1.0 + aa * d)
        c = _clamp(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / _clamp(1.0 + aa * d)
        c = _clamp(1.0 + aa / c)
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def gammainc_upper(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x)."""
    if x <= 0.0:
        return 1.0
    ln_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for P, then 1 - P
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(ln_front))
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER + 1):
        an = -i * (i - a)
        b += 2.0
        d = 1.0 / _clamp(an * d + b)
        c = _clamp(b + an / c)
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(ln_front) * h


def poisson_sf(k: float, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    return 1.0 - gammainc_upper(k, mu)


def nbinom_sf(k: float, mean: float, variance: float) -> float:
    """P(X >= k) for a negative binomial with this mean and variance (Poisson if var <= mean)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if variance <= mean * (1 + 1e-9):
        return poisson_sf(k, mean)
    p = mean / variance  # success probability
    r = mean * p / (1.0 - p)  # size
    # P(X >= k) = I_{1-p}(k, r)
    return betainc(k, r, 1.0 - p)


def binom_sf(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return betainc(k, n - k + 1.0, p)


def simes(p_values: Sequence[float]) -> float:
    """Simes' combined p-value: min over ranks of n * p_(i) / i. Valid for positively dependent
    tests (nested windows of one series, a group and its departments) and never above Bonferroni."""
    ordered = sorted(p_values)
    n = len(ordered)
    return min(1.0, min((n * p / (i + 1) for i, p in enumerate(ordered)), default=1.0))


def weighted_simes(p_values: Sequence[float], weights: Sequence[float]) -> float:
    """Simes' combination with weights (Benjamini and Hochberg 1997; Genovese, Roeder and
    Wasserman 2006): each p is divided by its weight, weights averaging 1, then Simes. Equal
    weights give :func:`simes`; a test with weight w pays for m / w tests instead of m."""
    n = len(p_values)
    total = sum(weights)
    if not n or total <= 0:
        return 1.0
    ordered = sorted(p * total / (n * w) if w > 0 else float("inf") for p, w in zip(p_values, weights, strict=True))
    return min(1.0, min(n * r / (i + 1) for i, r in enumerate(ordered)))


def weighted_benjamini_hochberg(p_values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Adjusted p-values of the weighted Benjamini-Hochberg procedure (weights averaging 1, as in
    :func:`weighted_simes`), in the input order."""
    n = len(p_values)
    total = sum(weights)
    if not n or total <= 0:
        return [1.0] * n
    return benjamini_hochberg([p * total / (n * w) if w > 0 else float("inf") for p, w in zip(p_values, weights, strict=True)])


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values), in the input order."""
    n = len(p_values)
    order = sorted(range(n), key=lambda i: p_values[i])
    q = [1.0] * n
    running = 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * n / rank)
        q[i] = min(running, 1.0)
    return q
