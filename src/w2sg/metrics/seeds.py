"""Summaries over seeds: mean, sd and a Student-t 95% CI."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_Z975 = 1.959963984540054
# two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30; beyond, a Cornish-Fisher expansion
_T975 = (12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041,
         2.2621572, 2.2281389, 2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053,
         2.1098155, 2.1009220, 2.0930241, 2.0859634, 2.0796138, 2.0738731, 2.0686576, 2.0638986,
         2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725)


def _t975(df: int) -> float:
    """Two-sided 95% Student-t quantile."""
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def seed_summary(values: Sequence[float | None]) -> dict[str, float | int]:
    """Mean, sd (ddof=1) and t-based 95% CI over seeds; None/NaN are skipped and counted in n_undefined."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(vals)
    mean = float(np.mean(vals)) if n else math.nan
    sd = lo = hi = math.nan
    if n >= 2:
        sd = float(np.std(vals, ddof=1))
        half = _t975(n - 1) * sd / math.sqrt(n)
        lo, hi = mean - half, mean + half
    return {"mean": mean, "sd": sd, "n": n, "ci_low": lo, "ci_high": hi, "n_undefined": len(values) - n}

