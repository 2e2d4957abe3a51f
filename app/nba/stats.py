"""Statistics for experiments, in plain NumPy:

    srm             sample-ratio mismatch: chi-square of assignment counts vs. the weights
    cuped           variance reduction with a pre-period covariate (Deng et al. 2013)
    compare         difference in means with a fixed-horizon CI and an always-valid
                    (sequential, mSPRT normal-mixture) CI that may be peeked at any time
    chance_to_win   Bayesian: P(arm is best), Beta posteriors (conversion) or normal
                    posteriors of the mean (revenue), by seeded Monte Carlo
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def _gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) (series / continued fraction)."""
    if x <= 0:
        return 1.0
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(500):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return 1.0 - total * math.exp(-x + a * math.log(x) - math.lgamma(a))
    b, c, d = x + 1 - a, 1e300, 1 / (x + 1 - a)
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def srm(counts: Mapping[str, int], weights: Mapping[str, float]) -> dict[str, float | bool]:
    total = sum(counts.values())
    wsum = sum(weights.values())
    if total == 0 or len(weights) < 2:
        return {"chi2": 0.0, "p_value": 1.0, "mismatch": False}
    chi2 = sum((counts.get(a, 0) - total * w / wsum) ** 2 / (total * w / wsum)
               for a, w in weights.items() if w > 0)
    p = _gamma_q((len(weights) - 1) / 2, chi2 / 2)
    return {"chi2": round(chi2, 4), "p_value": p, "mismatch": p < 0.001}


def cuped(ys: Sequence[np.ndarray], xs: Sequence[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Adjusted outcomes per arm with one pooled theta = cov(y, x) / var(x)."""
    y, x = np.concatenate(ys), np.concatenate(xs)
    var = float(x.var())
    theta = float(np.cov(y, x)[0, 1] / var) if var > 0 and len(y) > 1 else 0.0
    mx = float(x.mean()) if len(x) else 0.0
    return [yy - theta * (xx - mx) for yy, xx in zip(ys, xs, strict=True)], theta


@dataclass(frozen=True)
class Comparison:
    diff: float
    lift: float | None
    ci: tuple[float, float]
    p_value: float
    sequential_ci: tuple[float, float]

    def as_dict(self) -> dict[str, object]:
        return {"diff": self.diff, "lift": self.lift, "ci95": list(self.ci),
                "p_value": self.p_value, "sequential_ci95": list(self.sequential_ci)}


def compare(treat: np.ndarray, control: np.ndarray, *, raw_control_mean: float | None = None,
            tau: float | None = None, alpha: float = 0.05) -> Comparison:
    nt, nc = len(treat), len(control)
    if nt < 2 or nc < 2:
        nan = float("nan")
        return Comparison(nan, None, (nan, nan), nan, (nan, nan))
    diff = float(treat.mean() - control.mean())
    v = float(treat.var(ddof=1) / nt + control.var(ddof=1) / nc)
    se = math.sqrt(v) if v > 0 else 0.0
    z = abs(diff) / se if se > 0 else (0.0 if diff == 0 else float("inf"))
    p = math.erfc(z / math.sqrt(2))
    # mSPRT confidence sequence (Johari et al. 2017): valid at every look.
    t2 = tau ** 2 if tau else v
    t2 = t2 if t2 > 0 else 1e-12
    half = math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) + 2 * math.log(1 / alpha))) \
        if v > 0 else 0.0
    base = raw_control_mean if raw_control_mean is not None else float(control.mean())
    return Comparison(diff, diff / base if base else None, (diff - Z95 * se, diff + Z95 * se),
                      p, (diff - half, diff + half))


def chance_to_win(kind: str, arms: Mapping[str, np.ndarray], draws: int = 20_000,
                  seed: int = 7) -> dict[str, float]:
    """P(each arm has the highest mean). Conversion: Beta(1 + s, 1 + f); revenue: normal
    posterior N(mean, var / n)."""
    rng = np.random.default_rng(seed)
    names = list(arms)
    if not names:
        return {}
    samples = []
    for name in names:
        y = arms[name]
        if kind == "conversion":
            s = float(y.sum())
            samples.append(rng.beta(1 + s, 1 + len(y) - s, draws))
        else:
            n = max(len(y), 1)
            sd = float(y.std(ddof=1)) / math.sqrt(n) if len(y) > 1 else 1e6
            samples.append(rng.normal(float(y.mean()) if len(y) else 0.0, sd, draws))
    best = np.argmax(np.stack(samples), axis=0)
    return {n: float((best == i).mean()) for i, n in enumerate(names)}
