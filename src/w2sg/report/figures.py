"""The standard weak-to-strong figures, drawn from flat result records (`ResultsStore.records()`) as PNG bytes.

Every figure function takes a list of records and returns a `FigureResult(png, reason)`: `png` is the PNG
file as bytes, or None when there is nothing to draw, and then `reason` says why. Figures are drawn on
`matplotlib.figure.Figure` objects with the Agg renderer, never through pyplot, so they need no display and
leave no global state behind. `FIGURES` lists them in report order with a title and a caption;
`OPTIONAL_FIGURES` (PGR vs the student's training budget, `pgr_vs_budget`) are drawn only when the records
have something to show (a method run at two or more budgets).

Conventions shared by all figures: one panel per (task, mode); models are ordered by capability (mean weak
accuracy for weak models, mean ceiling accuracy for strong ones); an experiment is *unstable* when the 95%
bootstrap CI of its gap (ceiling − weak) includes 0, and its PGR is *undefined* when ceiling ≤ weak. Neither
is ever dropped silently: unstable results are hatched or hollow, undefined ones are written "undef.".
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from w2sg.metrics import seed_summary

DPI = 110
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
          "#7f7f7f")
LINESTYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))  # '--' is kept for the weak model's line
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
UNSTABLE_HATCH = "///"
UNSTABLE_LABEL = "unstable: gap (ceiling − weak) 95% CI includes 0"
UNDEFINED_LABEL = "undef.: PGR undefined, ceiling ≤ weak"
DRAWING_FAILED = "drawing failed"


class FigureResult(NamedTuple):
    """PNG bytes of a figure, or None with the reason nothing was drawn."""

    png: bytes | None
    reason: str | None = None


class FigureSpec(NamedTuple):
    """A figure of the report: file stem, title, caption (what it shows) and the function that draws it."""

    name: str
    title: str
    caption: str
    render: Callable[[list[dict]], FigureResult]


# ---------------------------------------------------------------- helpers


def _num(v: Any) -> float | None:
    """A finite float, or None (None, NaN, inf, bools and non-numbers are not values)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _mean(values: Iterable[Any]) -> float | None:
    vals = [v for v in (_num(x) for x in values) if v is not None]
    return float(np.mean(vals)) if vals else None


def _group(records: Iterable[dict], keys: Sequence[str]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        out[tuple(str(r.get(k)) for k in keys)].append(r)
    return dict(sorted(out.items()))


def _panel_key(r: dict) -> tuple[str, str]:
    return str(r.get("task")), str(r.get("mode"))


def _panel_title(key: tuple[str, str]) -> str:
    task, mode = key
    return task if mode in ("None", "") else f"{task} · {mode}"


def _panels(records: Iterable[dict]) -> dict[tuple[str, str], list[dict]]:
    return _group(records, ("task", "mode"))


def _order(records: Sequence[dict], role: str) -> list[str]:
    """Model names in `role` ('weak' or 'strong') ordered by mean accuracy in that role, then by name."""
    metric = "weak_acc" if role == "weak" else "ceiling_acc"
    by: dict[str, list[Any]] = defaultdict(list)
    for r in records:
        by[str(r.get(role))].append(r.get(metric))
    means = {m: _mean(v) for m, v in by.items()}
    return sorted(by, key=lambda m: (means[m] is None, means[m] if means[m] is not None else 0.0, m))


def _methods(records: Iterable[dict]) -> list[str]:
    return sorted({str(r.get("method")) for r in records})


def _pair(weak: str, strong: str) -> str:
    return f"{weak}→{strong}"


def _figure(nrows: int, ncols: int, panel_w: float, panel_h: float, extra_h: float = 0.7):
    """A constrained-layout Figure with an (nrows, ncols) grid of axes (no pyplot)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.5, panel_w * ncols), panel_h * nrows + extra_h), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    ncols = max(1, min(n, max_cols))
    return math.ceil(max(n, 1) / ncols), ncols


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)  # tight: keeps the legend
    return buf.getvalue()


def _legend_below(fig, handles: list, ncol: int | None = None) -> None:
    """One legend for all panels, below them, with as many columns as the figure's width allows."""
    if not handles:
        return
    longest = max(len(h.get_label()) for h in handles)
    fits = max(1, int(fig.get_figwidth() / (0.45 + 0.062 * longest)))
    fig.legend(handles=handles, loc="outside lower center", ncol=max(1, min(ncol or 3, fits, len(handles))),
               fontsize=8, frameon=False)


def _hide_unused(axes, used: int) -> None:
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)


def _seed_stats(values: Sequence[Any]) -> tuple[float | None, float | None, float | None, int]:
    """(mean, ci_low, ci_high, n) over seeds with the t-based 95% CI of `seed_summary` (CI None if n < 2)."""
    s = seed_summary([_num(v) for v in values])
    return _num(s["mean"]), _num(s["ci_low"]), _num(s["ci_high"]), int(s["n"])


def _err(mean: float, lo: float | None, hi: float | None) -> tuple[float, float]:
    """Error bar half-widths (below, above); 0 where the bound is unknown."""
    return (max(0.0, mean - lo) if lo is not None else 0.0, max(0.0, hi - mean) if hi is not None else 0.0)


# ---------------------------------------------------------------- (a) student vs ceiling


def student_vs_ceiling(records: list[dict]) -> FigureResult:
    """Burns et al.'s main figure: student accuracy (y) against the strong ceiling accuracy (x), one colour per
    weak model, one line style per method, the weak model's own accuracy as a dashed line of its colour, and
    the diagonal y = x where the student matches the ceiling (PGR = 1). Means over seeds."""
    rows = [r for r in records if _num(r.get("student_acc")) is not None and _num(r.get("ceiling_acc")) is not None]
    if not rows:
        return FigureResult(None, "no record has both student_acc and ceiling_acc")
    from matplotlib.lines import Line2D

    panels = _panels(rows)
    weaks, methods = _order(rows, "weak"), _methods(rows)
    color = {w: COLORS[i % len(COLORS)] for i, w in enumerate(weaks)}
    style = {m: (LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)]) for i, m in enumerate(methods)}
    nrows, ncols = _grid(len(panels))
    fig, axes = _figure(nrows, ncols, 4.8, 3.9, extra_h=0.5 + 0.22 * math.ceil((len(weaks) + len(methods) + 2) / 3))
    for ax, (key, prs) in zip(axes.flat, panels.items(), strict=False):
        strong_x = {s: _mean(r["ceiling_acc"] for r in prs if str(r["strong"]) == s) for s in _order(prs, "strong")}
        values = [v for v in strong_x.values() if v is not None]
        for w in [w for w in weaks if any(str(r["weak"]) == w for r in prs)]:
            wr = [r for r in prs if str(r["weak"]) == w]
            weak_mean = _mean(r.get("weak_acc") for r in wr)
            if weak_mean is not None:
                ax.axhline(weak_mean, color=color[w], ls="--", lw=1.1, alpha=0.9)
                values.append(weak_mean)
            for m in methods:
                pts = []
                for s, x in strong_x.items():
                    y = _mean(r["student_acc"] for r in wr if str(r["strong"]) == s and str(r["method"]) == m)
                    if y is not None and x is not None:
                        pts.append((x, y))
                if pts:
                    pts.sort()
                    ls, mk = style[m]
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color[w], ls=ls, marker=mk, ms=5,
                            lw=1.6)
                    values += [p[1] for p in pts]
        lo, hi = min(values), max(values)
        pad = max(0.02, 0.08 * (hi - lo))
        lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, alpha=0.45, zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("strong ceiling accuracy (mean over seeds)", fontsize=8)
        ax.set_ylabel("accuracy (mean over seeds)", fontsize=8)
        ax.set_title(_panel_title(key), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        top = ax.secondary_xaxis("top")
        xs = [(x, s) for s, x in strong_x.items() if x is not None]
        top.set_xticks([x for x, _ in xs], [s for _, s in xs], fontsize=7)
        top.tick_params(length=2)
        top.set_xlabel("strong model", fontsize=7)
    _hide_unused(axes, len(panels))
    handles = [Line2D([], [], color=color[w], lw=2, label=f"weak {w}") for w in weaks]
    handles += [Line2D([], [], color="0.2", ls=style[m][0], marker=style[m][1], ms=5, label=f"student: {m}")
                for m in methods]
    handles += [Line2D([], [], color="0.2", ls="--", lw=1.1, label="weak model accuracy (its colour)"),
                Line2D([], [], color="k", lw=0.8, alpha=0.45, label="y = x: student = ceiling (PGR 1)")]
    _legend_below(fig, handles)
    return FigureResult(_png(fig))


# ---------------------------------------------------------------- (b) PGR heatmap


def _cell(rows: list[dict]) -> dict:
    vals = [v for v in (_num(r.get("pgr_acc")) for r in rows) if v is not None]
    return {"median": float(np.median(vals)) if vals else None, "n_def": len(vals), "n": len(rows),
            "unstable": any(bool(r.get("unstable")) for r in rows)}


def pgr_heatmap(records: list[dict]) -> FigureResult:
    """Median PGR (accuracy) over seeds in a weak × strong grid, one panel per (task, mode) and method; cells are
    annotated with the median and the number of seeds; hatched where any seed is unstable; grey "undef."
    where PGR is undefined in every seed; "not run" where no experiment exists."""
    rows = [r for r in records if r.get("weak") is not None and r.get("strong") is not None]
    if not rows:
        return FigureResult(None, "no records with weak and strong models")
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch, Rectangle

    panels = _panels(rows)
    methods = _methods(rows)
    cells = {(pk, m): _group([r for r in prs if str(r["method"]) == m], ("weak", "strong"))
             for pk, prs in panels.items() for m in methods}
    medians = [_cell(rs)["median"] for grid in cells.values() for rs in grid.values()]
    medians = [v for v in medians if v is not None]
    vmin = min([0.0, *medians])
    vmax = max([1.0, *medians])
    norm = Normalize(vmin, vmax)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    n_weak = max(len(_order(prs, "weak")) for prs in panels.values())
    n_strong = max(len(_order(prs, "strong")) for prs in panels.values())
    fig, axes = _figure(len(panels), len(methods), 1.6 + 1.1 * n_strong, 1.1 + 0.75 * n_weak, extra_h=0.6)
    mappable = None
    for i, (pk, prs) in enumerate(panels.items()):
        weaks, strongs = _order(prs, "weak"), _order(prs, "strong")
        for j, m in enumerate(methods):
            ax = axes[i][j]
            grid = cells[(pk, m)]
            mat = np.full((len(weaks), len(strongs)), np.nan)
            info = {}
            for (w, s), rs in grid.items():
                c = _cell(rs)
                info[(weaks.index(w), strongs.index(s))] = c
                if c["median"] is not None:
                    mat[weaks.index(w), strongs.index(s)] = c["median"]
            mappable = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, norm=norm, aspect="auto")
            for wi in range(len(weaks)):
                for si in range(len(strongs)):
                    c = info.get((wi, si))
                    if c is None:
                        ax.text(si, wi, "not run", ha="center", va="center", fontsize=7, color="0.5")
                        continue
                    n_txt = f"n={c['n_def']}" if c["n_def"] == c["n"] else f"n={c['n_def']}/{c['n']}"
                    if c["median"] is None:
                        ax.add_patch(Rectangle((si - 0.5, wi - 0.5), 1, 1, facecolor="0.82", edgecolor="none"))
                        text, tcolor = f"undef.\n{n_txt}", "0.15"
                    else:
                        r, g, b, _ = cmap(norm(c["median"]))
                        tcolor = "k" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "w"
                        text = f"{c['median']:.2f}\n{n_txt}"
                    if c["unstable"]:
                        ax.add_patch(Rectangle((si - 0.5, wi - 0.5), 1, 1, fill=False, hatch=UNSTABLE_HATCH,
                                               edgecolor="0.3", lw=0.0))
                        if c["median"] is not None:
                            text += " (unst.)"
                    bbox = {"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.75, "ec": "none"} \
                        if c["unstable"] else None
                    ax.text(si, wi, text, ha="center", va="center", fontsize=7.5,
                            color="0.1" if bbox else tcolor, bbox=bbox)
            ax.set_xticks(range(len(strongs)), strongs, fontsize=8)
            ax.set_yticks(range(len(weaks)), weaks, fontsize=8)
            ax.set_xlabel("strong model", fontsize=8)
            ax.set_ylabel("weak model", fontsize=8)
            ax.set_title(f"{_panel_title(pk)} · {m}", fontsize=9)
            ax.set_xticks(np.arange(-0.5, len(strongs)), minor=True)
            ax.set_yticks(np.arange(-0.5, len(weaks)), minor=True)
            ax.grid(which="minor", color="white", lw=1.5)
            ax.tick_params(which="minor", length=0)
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.85)
        cbar.set_label("median PGR (accuracy)", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    handles = [Patch(facecolor="white", edgecolor="0.3", hatch=UNSTABLE_HATCH, label="≥1 seed unstable (gap CI ∋ 0)"),
               Patch(facecolor="0.82", edgecolor="0.5", label="undef.: ceiling ≤ weak in every seed"),
               Patch(facecolor="white", edgecolor="0.5", label="n = seeds with a defined PGR")]
    _legend_below(fig, handles)
    return FigureResult(_png(fig))


# ---------------------------------------------------------------- (c) PGR vs gap


def pgr_vs_gap(records: list[dict]) -> FigureResult:
    """PGR (accuracy) against the capability gap (ceiling − weak accuracy), one point per experiment with its
    95% bootstrap CIs on both axes; colour = method; unstable points hollow grey; experiments with an
    undefined PGR are drawn as × on the bottom edge at their gap."""
    rows = [r for r in records if _num(r.get("gap_acc")) is not None]
    if not rows:
        return FigureResult(None, "no record has gap_acc (ceiling − weak accuracy)")
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    panels = _panels(rows)
    methods = _methods(rows)
    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}
    nrows, ncols = _grid(len(panels))
    fig, axes = _figure(nrows, ncols, 4.8, 3.7, extra_h=0.9)
    any_unstable = any_undefined = False
    for ax, (key, prs) in zip(axes.flat, panels.items(), strict=False):
        ys, xs = [], []
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for r in prs:
            x, y = _num(r["gap_acc"]), _num(r.get("pgr_acc"))
            xs += [v for v in (x, _num(r.get("gap_acc_ci_low")), _num(r.get("gap_acc_ci_high"))) if v is not None]
            xerr = np.array(_err(x, _num(r.get("gap_acc_ci_low")), _num(r.get("gap_acc_ci_high"))))[:, None]
            if y is None:
                any_undefined = True
                ax.plot([x], [0.04], transform=bottom, marker="x", color="0.3", ms=7, ls="none", clip_on=False)
                continue
            ys.append(y)
            yerr = np.array(_err(y, _num(r.get("pgr_acc_ci_low")), _num(r.get("pgr_acc_ci_high"))))[:, None]
            if r.get("unstable"):
                any_unstable = True
                ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", ms=6, mfc="none", mec="0.45", ecolor="0.7",
                            elinewidth=0.9, capsize=2, zorder=2)
            else:
                c = color[str(r["method"])]
                ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", ms=6, color=c, ecolor=c, elinewidth=0.9,
                            capsize=2, alpha=0.9, zorder=3)
        for yref, lab in ((0.0, "PGR 0 (= weak)"), (1.0, "PGR 1 (= ceiling)")):
            ax.axhline(yref, color="0.4", ls=":", lw=0.9)
            ax.text(1.0, yref, lab, transform=blended_transform_factory(ax.transAxes, ax.transData), fontsize=6.5,
                    ha="right", va="bottom", color="0.35")
        ax.axvline(0.0, color="0.4", ls=":", lw=0.9)
        lo, hi = min([0.0, *ys]), max([1.0, *ys])
        pad = 0.15 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        xlo, xhi = min([0.0, *xs]), max([0.0, *xs])
        xpad = max(0.005, 0.04 * (xhi - xlo))
        ax.set_xlim(xlo - xpad, xhi + xpad)
        ax.set_xlabel("gap = ceiling − weak accuracy (95% CI)", fontsize=8)
        ax.set_ylabel("PGR (accuracy, 95% CI)", fontsize=8)
        ax.set_title(_panel_title(key), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    _hide_unused(axes, len(panels))
    handles = [Line2D([], [], color=color[m], marker="o", ls="none", label=m) for m in methods]
    if any_unstable:
        handles.append(Line2D([], [], marker="o", mfc="none", mec="0.45", ls="none", label=UNSTABLE_LABEL))
    if any_undefined:
        handles.append(Line2D([], [], marker="x", color="0.3", ls="none",
                              label="PGR undefined (ceiling ≤ weak): × at its gap"))
    _legend_below(fig, handles, ncol=min(len(handles), 4 if len(handles) > 4 else 3))
    return FigureResult(_png(fig))


# ---------------------------------------------------------------- (d) methods compared


def _method_stat(rs: list[dict]) -> dict:
    """Mean PGR over seeds with a t-based 95% CI; with one defined seed, that record's bootstrap CI."""
    mean, lo, hi, n = _seed_stats([r.get("pgr_acc") for r in rs])
    if n == 1:
        one = next(r for r in rs if _num(r.get("pgr_acc")) is not None)
        lo, hi = _num(one.get("pgr_acc_ci_low")), _num(one.get("pgr_acc_ci_high"))
    return {"mean": mean, "lo": lo, "hi": hi, "n": n, "total": len(rs),
            "unstable": any(bool(r.get("unstable")) for r in rs)}


def methods_compared(records: list[dict]) -> FigureResult:
    """Mean PGR (accuracy) of each method for every weak→strong pair, one panel per (task, mode), with a
    t-based 95% CI over seeds (the bootstrap CI of the record when only one seed has a PGR); hatched bars
    have at least one unstable seed; "undef." marks a method whose PGR is undefined in every seed."""
    rows = [r for r in records if r.get("method") is not None]
    if not rows:
        return FigureResult(None, "no records with a method")
    from matplotlib.patches import Patch

    panels = _panels(rows)
    methods = _methods(rows)
    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}
    n_pairs = max(len(_group(prs, ("weak", "strong"))) for prs in panels.values())
    nrows, ncols = _grid(len(panels), 2)
    fig, axes = _figure(nrows, ncols, max(4.5, 1.0 + n_pairs * (0.5 + 0.35 * len(methods))), 3.7, extra_h=0.8)
    any_unstable = any_undef = any_partial = False
    width = 0.8 / len(methods)
    for ax, (key, prs) in zip(axes.flat, panels.items(), strict=False):
        weaks, strongs = _order(prs, "weak"), _order(prs, "strong")
        pairs = sorted(_group(prs, ("weak", "strong")).items(),
                       key=lambda kv: (weaks.index(kv[0][0]), strongs.index(kv[0][1])))
        bounds = [0.0, 1.0]
        means = [0.0, 1.0]
        for gi, (_, prs2) in enumerate(pairs):
            for mi, m in enumerate(methods):
                rs = [r for r in prs2 if str(r["method"]) == m]
                if not rs:
                    continue
                x = gi - 0.4 + width * (mi + 0.5)
                st = _method_stat(rs)
                if st["mean"] is None:
                    any_undef = True
                    ax.text(x, 0.0, "undef.", rotation=90, ha="center", va="bottom", fontsize=7.5, color=color[m],
                            fontweight="bold")
                    continue
                any_unstable |= st["unstable"]
                err = np.array(_err(st["mean"], st["lo"], st["hi"]))[:, None]
                ax.bar(x, st["mean"], width * 0.92, yerr=err, capsize=2.5, color=color[m],
                       hatch=UNSTABLE_HATCH if st["unstable"] else None, edgecolor="0.25" if st["unstable"] else
                       color[m], lw=0.6, error_kw={"elinewidth": 0.9})
                means.append(st["mean"])
                bounds += [b for b in (st["lo"], st["hi"]) if b is not None]
                if st["n"] < st["total"]:
                    any_partial = True
                    top = st["hi"] if st["hi"] is not None else st["mean"]
                    ax.annotate(f"{st['n']}/{st['total']}", (x, max(top, st["mean"], 0.0)), xytext=(0, 3),
                                textcoords="offset points", ha="center", va="bottom", fontsize=6.5, color="0.25")
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.axhline(1.0, color="0.4", ls=":", lw=0.9)
        lo = max(min(bounds), min(means) - 1.0)
        hi = min(max(bounds), max(means) + 1.0)
        pad = 0.08 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xticks(range(len(pairs)), [_pair(w, s) for (w, s), _ in pairs], fontsize=8)
        ax.set_xlim(-0.6, len(pairs) - 0.4)
        ax.set_xlabel("weak → strong", fontsize=8)
        ax.set_ylabel("PGR (accuracy): mean, 95% CI", fontsize=8)
        ax.set_title(_panel_title(key), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.25)
    _hide_unused(axes, len(panels))
    handles = [Patch(facecolor=color[m], label=m) for m in methods]
    if any_unstable:
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNSTABLE_HATCH,
                             label="≥1 seed unstable (gap CI ∋ 0)"))
    if any_undef:
        handles.append(Patch(facecolor="white", edgecolor="white", label="undef.: no seed has a defined PGR"))
    if any_partial:
        handles.append(Patch(facecolor="white", edgecolor="white", label="k/n: only k of n seeds have a PGR"))
    _legend_below(fig, handles, ncol=min(len(handles), 4))
    return FigureResult(_png(fig))


# ---------------------------------------------------------------- (e) agreement


def _agreement_split(records: list[dict]) -> str | None:
    for split in ("transfer", "test"):
        if any(_num(r.get(f"agree_{split}_weak_wrong")) is not None or _num(r.get(f"agree_{split}_weak_right"))
               is not None for r in records):
            return split
    return None


def agreement(records: list[dict]) -> FigureResult:
    """Agreement of the student with its weak supervisor on transfer examples the weak model labelled right
    (left) and wrong (right; high = imitation of weak errors), per weak→strong pair and method, with the
    ceiling model's agreement with the weak model as a control; mean over seeds, t-based 95% CI. Falls back
    to the test split when no record has transfer agreement."""
    split = _agreement_split(records)
    if split is None:
        return FigureResult(None, "no record has agreement metrics (agree_transfer_* / agree_test_*)")
    from matplotlib.patches import Patch

    rows = [r for r in records if r.get("method") is not None]
    panels = _panels(rows)
    methods = _methods(rows)
    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}
    bars = [*methods, None]  # None = the ceiling control
    n_pairs = max(len(_group(prs, ("weak", "strong"))) for prs in panels.values())
    fig, axes = _figure(len(panels), 2, max(4.2, 1.0 + n_pairs * (0.5 + 0.3 * len(bars))), 3.4, extra_h=0.7)
    width = 0.8 / len(bars)
    has_control = False
    for pi, (key, prs) in enumerate(panels.items()):
        weaks, strongs = _order(prs, "weak"), _order(prs, "strong")
        pairs = sorted(_group(prs, ("weak", "strong")).items(),
                       key=lambda kv: (weaks.index(kv[0][0]), strongs.index(kv[0][1])))
        for ci, (which, title) in enumerate((("weak_right", "weak model right"),
                                             ("weak_wrong", "weak model wrong (↑ = imitates weak errors)"))):
            ax = axes[pi][ci]
            for gi, (_, prs2) in enumerate(pairs):
                for bi, m in enumerate(bars):
                    if m is None:  # the ceiling does not depend on the method: one value per seed
                        per_seed = {}
                        for r in prs2:
                            v = _num(r.get(f"ceiling_agree_{split}_{which}"))
                            if v is not None:
                                per_seed.setdefault(r.get("seed"), v)
                        vals = list(per_seed.values())
                    else:
                        vals = [r.get(f"agree_{split}_{which}") for r in prs2 if str(r["method"]) == m]
                    mean, lo, hi, n = _seed_stats(vals)
                    if mean is None:
                        continue
                    has_control |= m is None
                    x = gi - 0.4 + width * (bi + 0.5)
                    err = np.array(_err(mean, lo, hi))[:, None]
                    ax.bar(x, mean, width * 0.92, yerr=err, capsize=2, color="0.8" if m is None else color[m],
                           hatch="xx" if m is None else None, edgecolor="0.4" if m is None else color[m], lw=0.6,
                           error_kw={"elinewidth": 0.9})
            ax.set_ylim(0, 1.1)
            ax.set_xticks(range(len(pairs)), [_pair(w, s) for (w, s), _ in pairs], fontsize=8)
            ax.set_xlim(-0.6, len(pairs) - 0.4)
            ax.set_ylabel(f"agreement with weak ({split})", fontsize=8)
            ax.set_title(f"{_panel_title(key)}: {title}", fontsize=8.5)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(axis="y", alpha=0.25)
    handles = [Patch(facecolor=color[m], label=f"student: {m}") for m in methods]
    if has_control:
        handles.append(Patch(facecolor="0.8", edgecolor="0.4", hatch="xx",
                             label="control: ceiling (trained on ground truth) vs weak"))
    _legend_below(fig, handles, ncol=min(len(handles), 4))
    return FigureResult(_png(fig))


# ---------------------------------------------------------------- (f) PGR vs the student's training budget

BUDGET_KINDS = ("full", "steps", "early_stop", "early_stop_oracle")
_SLOT_ORDER = {"full": 0, "early_stop": 1, "early_stop_oracle": 2}  # categorical slots right of the step axis
BUDGET_METRICS = ("acc", "auroc")  # solid / dashed
BUDGET_CAPTION = (
    "Budget = the student's training budget; the weak model and the ceiling are always trained to their "
    "CV-tuned optimum, only the student is budgeted. A PGR that exists only at small budgets is an artefact of "
    "under-training. Left part of each panel: exactly N optimiser steps (log axis); right of the dashed "
    "separator: 'converged' (frozen heads solved to convergence) or 'epochs=…' (the whole finetuning run), "
    "then early stopping with the checkpoint chosen on the weak labels of V, then ORACLE early stopping (star, "
    "red band) chosen on V's ground truth, an analysis bound and not a method. y: mean PGR over the stable "
    "seeds only (gap CI above 0 and PGR defined) with a t-based 95% CI over seeds (the experiment's bootstrap "
    "CI when one seed is stable); solid/filled = accuracy PGR, dashed/hollow = AUROC PGR. 'k/n' next to a "
    "point: only k of its n seeds were stable and averaged. Only methods run at two or more budgets are drawn."
)


class BudgetPoint(NamedTuple):
    """One plotted point of `pgr_vs_budget`: the seed mean of a PGR over the stable rows of one
    (panel, series, budget); `mean` is None when no row is stable (then only 'k/n' is drawn)."""

    panel: tuple[str, str]  # (task, mode)
    series: str  # method (with the weak → strong pair when there is more than one)
    budget: str  # the record's label: 'steps=256', 'converged', 'early_stop(auroc,epochs=20)', ...
    kind: str  # full | steps | early_stop | early_stop_oracle
    steps: int | None  # the step budget of kind 'steps'
    metric: str  # 'acc' or 'auroc'
    mean: float | None
    lo: float | None
    hi: float | None
    n_stable: int
    n_total: int

    @property
    def oracle(self) -> bool:
        return self.kind == "early_stop_oracle"


def budget_kind(record: dict) -> str | None:
    """The budget kind of a record (`budget_kind`, else inferred from the `budget` label); None without one."""
    label = record.get("budget")
    if label is None or str(label) == "":
        return None
    kind = record.get("budget_kind")
    if kind in BUDGET_KINDS:
        return str(kind)
    label = str(label)
    if label.startswith("steps="):
        return "steps"
    if label.startswith("early_stop_oracle"):
        return "early_stop_oracle"
    return "early_stop" if label.startswith("early_stop") else "full"


def budget_sort_key(label: Any) -> tuple:
    """Order of budget labels in tables: step budgets by N, then converged / epochs=N, early stopping, ORACLE
    early stopping; a missing budget first."""
    if label is None or str(label) == "":
        return (-1, 0, "")
    kind = budget_kind({"budget": label})
    steps = _budget_steps({"budget": label}) or 0
    return ({"steps": 0, "full": 1, "early_stop": 2, "early_stop_oracle": 3}[kind], steps, str(label))


def _budget_steps(record: dict) -> int | None:
    s = record.get("budget_steps")
    if isinstance(s, int) and not isinstance(s, bool) and s > 0:
        return s
    label = str(record.get("budget"))
    if label.startswith("steps="):
        try:
            return max(1, int(label[6:]))
        except ValueError:
            return None
    return None


def _series_name(r: dict, with_pair: bool) -> str:
    m, v = str(r.get("method")), r.get("variant")
    if v and f"{{{v}}}" not in m:  # with_variant_labels() may already have appended it
        m += f" {{{v}}}"
    return f"{m} ({_pair(str(r.get('weak')), str(r.get('strong')))})" if with_pair else m


def _stable(r: dict, metric: str) -> bool:
    flag = "unstable" if metric == "acc" else f"unstable_{metric}"
    return _num(r.get(f"pgr_{metric}")) is not None and not r.get(flag)


def budget_points(records: list[dict]) -> list[BudgetPoint]:
    """The points `pgr_vs_budget` draws: per (task, mode) panel, per method run at >= 2 budgets there, per
    budget and PGR metric (accuracy, AUROC): the mean over the stable seeds only (rows whose gap is unstable or
    whose PGR is undefined are left out and counted in n_total − n_stable), with a t-based 95% CI over those
    seeds, or the experiment's own bootstrap CI when exactly one seed is stable."""
    rows = [r for r in records if budget_kind(r) is not None and (budget_kind(r) != "steps" or _budget_steps(r))]
    with_pair = len({(str(r.get("weak")), str(r.get("strong"))) for r in rows}) > 1
    out = []
    for panel, prs in _panels(rows).items():
        series: dict[str, list[dict]] = defaultdict(list)
        for r in prs:
            series[_series_name(r, with_pair)].append(r)
        for name, srs in sorted(series.items()):
            by_budget = _group(srs, ("budget",))
            if len(by_budget) < 2:
                continue
            for (label,), brs in by_budget.items():
                kind, steps = budget_kind(brs[0]), _budget_steps(brs[0])
                for metric in BUDGET_METRICS:
                    kept = [r for r in brs if _stable(r, metric)]
                    mean, lo, hi, n = _seed_stats([r[f"pgr_{metric}"] for r in kept])
                    if n == 1:
                        lo, hi = _num(kept[0].get(f"pgr_{metric}_ci_low")), _num(kept[0].get(f"pgr_{metric}_ci_high"))
                    out.append(BudgetPoint(panel, name, label, kind, steps if kind == "steps" else None, metric,
                                           mean, lo, hi, n, len(brs)))
    return out


def _slot_label(label: str, kind: str, several: bool) -> str:
    if kind == "full":
        return label
    head = "ORACLE\nearly stop" if kind == "early_stop_oracle" else "early stop"
    if not several:
        return head
    inner = label[label.find("(") + 1: label.rfind(")")] if "(" in label else label
    return f"{head}\n({inner})"


def _step_tick(s: int) -> str:
    return f"{s // 1024}k" if s >= 4096 and s % 1024 == 0 else str(s)


def pgr_vs_budget_figure(records: list[dict]) -> FigureResult:
    """PGR (accuracy solid, AUROC dashed) against the student's training budget, one panel per (task, mode)
    with a shared y axis: step budgets on a log axis, then the converged / full-run budget and the early
    stopping budgets (weak-label and ORACLE) as categorical slots on the right. See `BUDGET_CAPTION`."""
    points = budget_points(records)
    if not points:
        return FigureResult(None, "no method was run at two or more training budgets of the student")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import NullLocator
    from matplotlib.transforms import blended_transform_factory

    panels: dict[tuple[str, str], list[BudgetPoint]] = defaultdict(list)
    for p in points:
        panels[p.panel].append(p)
    panels = dict(sorted(panels.items()))
    series = sorted({p.series for p in points})
    color = {s: COLORS[i % len(COLORS)] for i, s in enumerate(series)}

    # x positions: step budgets at their value on a log axis, the categorical slots beyond the largest one
    steps = sorted({p.steps for p in points if p.steps is not None})
    slots = sorted({(p.kind, p.budget) for p in points if p.kind != "steps"}, key=lambda kb: (_SLOT_ORDER[kb[0]],
                                                                                               kb[1]))
    s_lo, s_hi = (steps[0], steps[-1]) if steps else (1, 1)
    decades = math.log10(s_hi / s_lo)
    gap = max(0.45, 0.4 * decades / max(1, len(slots)))  # decades between slots
    slot_x = {b: s_hi * 10 ** (gap * (i + 1)) for i, (_, b) in enumerate(slots)}
    per_kind = defaultdict(int)
    for k, _ in slots:
        per_kind[k] += 1
    slot_text = {b: _slot_label(b, k, per_kind[k] > 1) for k, b in slots}
    x_left = s_lo / 10 ** (0.25 * gap) if steps else s_hi * 10 ** (0.35 * gap)
    x_right = (max(slot_x.values()) if slot_x else s_hi) * 10 ** (0.5 * gap)
    x_sep = s_hi * 10 ** (0.5 * gap)
    combos = [(s, m) for s in series for m in BUDGET_METRICS]
    jitter = {c: 10 ** (0.09 * gap * (i - (len(combos) - 1) / 2) / max(1, len(combos) / 4))
              for i, c in enumerate(combos)}

    # shared y: every mean and CI bound, CIs clipped to one PGR unit around the means
    means = [p.mean for p in points if p.mean is not None]
    bounds = [b for p in points for b in (p.lo, p.hi) if b is not None]
    lo_m, hi_m = min([0.0, *means]), max([1.0, *means])
    y_lo = max(min([lo_m, *bounds]), lo_m - 1.0)
    y_hi = min(max([hi_m, *bounds]), hi_m + 1.0)
    pad = 0.08 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad

    n = len(panels)
    nrows, ncols = _grid(n, 5 if n > 12 else 4)
    fig, axes = _figure(nrows, ncols, 3.4, 2.9, extra_h=0.9 + 0.2 * math.ceil((len(series) + 4) / 3))
    any_partial = any_oracle = False
    for pi, (ax, (key, pts)) in enumerate(zip(axes.flat, panels.items(), strict=False)):
        ax.set_xscale("log")
        if slots:
            ax.axvspan(x_sep, x_right, color="0.93", zorder=0, lw=0)
            ax.axvline(x_sep, color="0.5", ls="--", lw=0.8, zorder=1)
            for k, b in slots:
                if k == "early_stop_oracle":
                    half = 10 ** (0.4 * gap)
                    ax.axvspan(slot_x[b] / half, slot_x[b] * half, color="#fbe0e0", zorder=0, lw=0)
        ax.axhline(0.0, color="0.3", lw=0.8, zorder=1)
        ax.axhline(1.0, color="0.4", ls=":", lw=0.9, zorder=1)
        if pi % ncols == 0:
            side = blended_transform_factory(ax.transAxes, ax.transData)
            for yref, lab in ((0.0, "PGR 0 = weak"), (1.0, "PGR 1 = ceiling")):
                ax.text(0.02, yref, lab, transform=side, fontsize=6, ha="left", va="bottom", color="0.35")
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for s in series:
            for metric in BUDGET_METRICS:
                sp = [p for p in pts if p.series == s and p.metric == metric]
                if not sp:
                    continue
                c, dashed = color[s], metric == "auroc"
                fill = "white" if dashed else c
                line = sorted((p.steps * jitter[(s, metric)], p.mean) for p in sp
                              if p.steps is not None and p.mean is not None)
                if len(line) > 1:
                    ax.plot([x for x, _ in line], [y for _, y in line], color=c, ls="--" if dashed else "-",
                            lw=1.3, zorder=2)
                for p in sp:
                    x = (p.steps if p.steps is not None else slot_x[p.budget]) * jitter[(s, metric)]
                    if p.mean is None:
                        ax.text(x, 0.02, f"0/{p.n_total}", transform=bottom, fontsize=5.5, color=c, ha="center",
                                va="bottom")
                        any_partial = True
                        continue
                    err = np.array(_err(p.mean, p.lo, p.hi))[:, None]
                    big = p.oracle
                    any_oracle |= big
                    eb = ax.errorbar([x], [p.mean], yerr=err, fmt="*" if big else ("s" if dashed else "o"),
                                     ms=8 if big else 4.5, color=c, mfc=fill, mec="k" if big else c, mew=0.9,
                                     ecolor=c, elinewidth=0.9, capsize=2, zorder=3)
                    if dashed:
                        for col in eb[2]:
                            col.set_linestyle("--")
                    if p.n_stable < p.n_total:
                        any_partial = True
                        ax.annotate(f"{p.n_stable}/{p.n_total}", (x, p.mean), xytext=(3, 2),
                                    textcoords="offset points", fontsize=5.5, color=c, ha="left", va="bottom")
        ax.set_xlim(x_left, x_right)
        ax.set_ylim(y_lo, y_hi)
        ax.xaxis.set_minor_locator(NullLocator())
        ticks = [(float(s), _step_tick(s)) for s in (steps if len(steps) <= 6 else steps[:: math.ceil(len(steps) / 6)])]
        ticks += [(slot_x[b], slot_text[b]) for _, b in slots]
        ax.set_xticks([t for t, _ in ticks], [lab for _, lab in ticks], fontsize=6.5, rotation=45, ha="right",
                      rotation_mode="anchor")
        for tick, (k, _) in zip(ax.get_xticklabels()[len(ticks) - len(slots):], slots, strict=True):
            if k == "early_stop_oracle":
                tick.set_color("#b00000")
                tick.set_fontweight("bold")
        if pi + ncols >= n:  # the lowest panel of its column
            ax.set_xlabel("student budget: optimiser steps (log axis), then other budgets" if steps else
                          "student budget", fontsize=7)
        if pi % ncols == 0:
            ax.set_ylabel("PGR: mean over stable seeds", fontsize=7.5)
        ax.set_title(_panel_title(key), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.25)
    _hide_unused(axes, n)
    handles: list = [Line2D([], [], color=color[s], lw=2, label=s) for s in series]
    handles += [Line2D([], [], color="0.2", ls="-", marker="o", ms=4.5, label="PGR (accuracy)"),
                Line2D([], [], color="0.2", ls="--", marker="s", ms=4.5, mfc="white", label="PGR (AUROC)")]
    if any_oracle:
        handles.append(Line2D([], [], color="0.2", ls="none", marker="*", ms=8, mec="k",
                              label="ORACLE early stop: a bound, not a method"))
    if slots:
        handles.append(Patch(facecolor="0.93", edgecolor="0.5", ls="--",
                             label="right of the dashed line: no step count"))
    if any_partial:
        handles.append(Patch(facecolor="white", edgecolor="white",
                             label="k/n: mean over the k of n seeds stable"))
    _legend_below(fig, handles, ncol=min(len(handles), 4))
    return FigureResult(_png(fig))


def pgr_vs_budget(records: list[dict], path: str | Path) -> Path | None:
    """Write the PGR-vs-budget figure (`pgr_vs_budget_figure`) as a PNG to `path` and return the path; do
    nothing and return None when no method of any task was run at two or more budgets."""
    res = pgr_vs_budget_figure(records)
    if res.png is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(res.png)
    return path


BUDGET_FIGURE = FigureSpec("pgr_vs_budget", "PGR vs the student's training budget", BUDGET_CAPTION,
                           pgr_vs_budget_figure)
# Figures drawn only when they have something to show (a note about a missing one would be noise).
OPTIONAL_FIGURES: tuple[FigureSpec, ...] = (BUDGET_FIGURE,)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("student_vs_ceiling", "Student vs strong ceiling accuracy",
               "Test accuracy of the weak-to-strong student (y) against the accuracy of the strong model trained "
               "on ground truth (x, its ceiling; strong model names on the top axis). One colour per weak model; "
               "its own accuracy is the dashed line of that colour; one line style per method. Points on the "
               "diagonal recover the whole gap (PGR 1), points on the dashed line none (PGR 0). Means over seeds.",
               student_vs_ceiling),
    FigureSpec("pgr_heatmap", "PGR heatmap: weak × strong",
               "Median PGR (accuracy) over seeds per weak (rows) × strong (columns) pair, one panel per task and "
               "method; n = seeds with a defined PGR. Hatched cells have at least one unstable seed; grey "
               "'undef.' cells have no seed with ceiling > weak.",
               pgr_heatmap),
    FigureSpec("pgr_vs_gap", "PGR vs capability gap",
               "One point per experiment: PGR (accuracy) against the gap ceiling − weak accuracy, both with 95% "
               "paired bootstrap CIs (error bars may run past the axes when the gap is small). Hollow grey "
               "points are unstable (the gap's CI includes 0); × on the bottom edge marks an undefined PGR.",
               pgr_vs_gap),
    FigureSpec("methods_compared", "Methods compared",
               "Mean PGR (accuracy) over seeds of each method for every weak → strong pair, with a t-based 95% "
               "CI over seeds (the record's bootstrap CI when only one seed has a PGR). Hatched bars include an "
               "unstable seed.",
               methods_compared),
    FigureSpec("agreement", "Student–supervisor agreement",
               "Share of transfer examples on which the student predicts the weak supervisor's label, split by "
               "whether the weak label was right (left) or wrong (right). High agreement where the weak model is "
               "wrong means the student imitates weak errors. The hatched grey bar is the control: agreement of "
               "the ceiling model (trained on ground truth) with the weak model. Means over seeds, t-based 95% CI.",
               agreement),
)


def render(spec: FigureSpec, records: list[dict]) -> FigureResult:
    """`spec.render(records)`; a drawing that raises is returned as None with the error as its reason."""
    try:
        return spec.render(records)
    except Exception as e:  # one broken figure must not cost the whole report
        return FigureResult(None, f"{DRAWING_FAILED}: {type(e).__name__}: {e}")


def render_all(records: list[dict]) -> list[tuple[FigureSpec, FigureResult]]:
    """Every figure of `FIGURES` (a missing one with its reason), then those of `OPTIONAL_FIGURES` that were
    drawn (or whose drawing failed); a figure whose drawing raises is returned as None with the error."""
    out = [(spec, render(spec, records)) for spec in FIGURES]
    for spec in OPTIONAL_FIGURES:
        res = render(spec, records)
        if res.png is not None or (res.reason or "").startswith(DRAWING_FAILED):
            out.append((spec, res))
    return out
