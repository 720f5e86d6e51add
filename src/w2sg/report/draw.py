"""Drawing of the report figures from their aggregated data (`w2sg.report.aggregate`) as PNG bytes.

Figures are drawn on `matplotlib.figure.Figure` objects with the Agg renderer, never through pyplot, so they
need no display and leave no global state behind. Every function here takes the data of one figure with at
least one panel and returns the PNG file as bytes; `w2sg.report.figures` decides when there is nothing to
draw. A PGR over seeds is the pooled PGR of all seeds (`aggregate.PooledStat`): a number only when the mean gap is
resolved, else hatched and written "gap not resolved" (no number); per experiment (PGR vs gap), unstable results
are hollow and undefined ones a ×.
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np

from w2sg.report.aggregate import (
    NOT_RESOLVED,
    POOLED_NOTE,
    AgreementData,
    Heatmap,
    MethodsCompared,
    PgrVsGap,
    StudentVsCeiling,
    pair_label,
    panel_title,
)
from w2sg.report.escape import plain_text

DPI = 110
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
          "#7f7f7f")
LINESTYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))  # '--' is kept for the weak model's line
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
UNSTABLE_HATCH = "///"
UNSTABLE_LABEL = "unstable: gap (ceiling − weak) 95% CI includes 0"
UNDEFINED_LABEL = "undef.: PGR undefined, ceiling ≤ weak"
NOT_RESOLVED_LABEL = f"{NOT_RESOLVED}: the mean gap's 95% CI includes 0, no PGR drawn"


# ---------------------------------------------------------------- helpers


def figure(nrows: int, ncols: int, panel_w: float, panel_h: float, extra_h: float = 0.7):
    """A constrained-layout Figure with an (nrows, ncols) grid of axes (no pyplot)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.5, panel_w * ncols), panel_h * nrows + extra_h), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    ncols = max(1, min(n, max_cols))
    return math.ceil(max(n, 1) / ncols), ncols


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)  # tight: keeps the legend
    return buf.getvalue()


def legend_below(fig, handles: list, ncol: int | None = None) -> None:
    """One legend for all panels, below them, with as many columns as the figure's width allows."""
    if not handles:
        return
    longest = max(len(h.get_label()) for h in handles)
    fits = max(1, int(fig.get_figwidth() / (0.45 + 0.062 * longest)))
    fig.legend(handles=handles, loc="outside lower center", ncol=max(1, min(ncol or 3, fits, len(handles))),
               fontsize=8, frameon=False)


def hide_unused(axes, used: int) -> None:
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)


def err(mean: float, lo: float | None, hi: float | None) -> tuple[float, float]:
    """Error bar half-widths (below, above); 0 where the bound is unknown."""
    return (max(0.0, mean - lo) if lo is not None else 0.0, max(0.0, hi - mean) if hi is not None else 0.0)


def colors(names: list[str]) -> dict[str, str]:
    return {n: COLORS[i % len(COLORS)] for i, n in enumerate(names)}


# ---------------------------------------------------------------- (a) student vs ceiling


@plain_text
def draw_student_vs_ceiling(data: StudentVsCeiling) -> bytes:
    """Student accuracy (y) against ceiling accuracy (x): one colour per weak model, one line style per method,
    the weak model's accuracy dashed in its colour, and the diagonal y = x (PGR 1)."""
    from matplotlib.lines import Line2D

    weaks, methods = data.weaks, data.methods
    color = colors(weaks)
    style = {m: (LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)]) for i, m in enumerate(methods)}
    nrows, ncols = grid(len(data.panels))
    fig, axes = figure(nrows, ncols, 4.8, 3.9, extra_h=0.5 + 0.22 * math.ceil((len(weaks) + len(methods) + 2) / 3))
    for ax, p in zip(axes.flat, data.panels, strict=False):
        values = [v for v in p.strong_x.values() if v is not None]
        for w, level in p.weak_level.items():
            if level is not None:
                ax.axhline(level, color=color[w], ls="--", lw=1.1, alpha=0.9)
                values.append(level)
            for m in methods:
                pts = p.lines.get((w, m))
                if pts:
                    ls, mk = style[m]
                    ax.plot([q[0] for q in pts], [q[1] for q in pts], color=color[w], ls=ls, marker=mk, ms=5,
                            lw=1.6)
                    values += [q[1] for q in pts]
        lo, hi = min(values), max(values)
        pad = max(0.02, 0.08 * (hi - lo))
        lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, alpha=0.45, zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("strong ceiling accuracy (mean over seeds)", fontsize=8)
        ax.set_ylabel("accuracy (mean over seeds)", fontsize=8)
        ax.set_title(panel_title(p.key), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        top = ax.secondary_xaxis("top")
        xs = [(x, s) for s, x in p.strong_x.items() if x is not None]
        top.set_xticks([x for x, _ in xs], [s for _, s in xs], fontsize=7)
        top.tick_params(length=2)
        top.set_xlabel("strong model", fontsize=7)
    hide_unused(axes, len(data.panels))
    handles = [Line2D([], [], color=color[w], lw=2, label=f"weak {w}") for w in weaks]
    handles += [Line2D([], [], color="0.2", ls=style[m][0], marker=style[m][1], ms=5, label=f"student: {m}")
                for m in methods]
    handles += [Line2D([], [], color="0.2", ls="--", lw=1.1, label="weak model accuracy (its colour)"),
                Line2D([], [], color="k", lw=0.8, alpha=0.45, label="y = x: student = ceiling (PGR 1)")]
    legend_below(fig, handles)
    return png(fig)


# ---------------------------------------------------------------- (b) PGR heatmap


@plain_text
def draw_pgr_heatmap(data: Heatmap) -> bytes:
    """Weak × strong grids of the pooled PGR over all seeds with its 95% CI, one row of panels per (task, mode),
    one column per method; a cell whose mean gap is not resolved is hatched grey with no number."""
    return png(heatmap_figure(data))


def title_chars(width_in: float, fontsize: float = 9) -> int:
    """How many characters of a title fit in `width_in` inches at `fontsize` (a generous average width)."""
    return max(12, int(width_in * 72 / (0.62 * fontsize)))


@plain_text
def heatmap_figure(data: Heatmap):
    """The `Figure` of `draw_pgr_heatmap` (panel titles wrapped to their panel's width so that they never run
    into their neighbours')."""
    import matplotlib
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch, Rectangle

    norm = Normalize(data.vmin, data.vmax)
    cmap = matplotlib.colormaps["viridis"]
    n_weak = max(len(row[0].weaks) for row in data.grids)
    n_strong = max(len(row[0].strongs) for row in data.grids)
    fig, axes = figure(len(data.panels), len(data.methods), 1.6 + 1.25 * n_strong, 1.1 + 0.8 * n_weak, extra_h=0.6)
    mappable = None
    any_unresolved = False
    for i, row in enumerate(data.grids):
        for j, g in enumerate(row):
            ax = axes[i][j]
            weaks, strongs = g.weaks, g.strongs
            mat = np.full((len(weaks), len(strongs)), np.nan)
            for (wi, si), c in g.cells.items():
                if c.shown is not None:
                    mat[wi, si] = c.shown
            mappable = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, norm=norm, aspect="auto")
            for wi in range(len(weaks)):
                for si in range(len(strongs)):
                    c = g.cells.get((wi, si))
                    if c is None:
                        ax.text(si, wi, "not run", ha="center", va="center", fontsize=7, color="0.5")
                        continue
                    n_txt = f"n={c.n}" + (f" ({c.n_undefined} undef.)" if c.n_undefined else "")
                    if c.shown is None:
                        any_unresolved = True
                        ax.add_patch(Rectangle((si - 0.5, wi - 0.5), 1, 1, facecolor="0.85", edgecolor="0.3",
                                               hatch=UNSTABLE_HATCH, lw=0.0))
                        gap = "" if c.gap is None else f"\ngap {c.gap:+.3f}"
                        text, tcolor = f"gap not\nresolved{gap}\n{n_txt}", "0.1"
                        bbox = {"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8, "ec": "none"}
                    else:
                        r, gr, b, _ = cmap(norm(c.shown))
                        tcolor = "k" if 0.299 * r + 0.587 * gr + 0.114 * b > 0.5 else "w"
                        lo = "-inf" if c.lo is None else f"{c.lo:.2f}"
                        hi = "+inf" if c.hi is None else f"{c.hi:.2f}"
                        text, bbox = f"{c.shown:.2f}\n[{lo}, {hi}]\n{n_txt}", None
                    ax.text(si, wi, text, ha="center", va="center", fontsize=7, color=tcolor, bbox=bbox)
            ax.set_xticks(range(len(strongs)), strongs, fontsize=8)
            # supervisor labels can be long (synthetic(errors=region,region=...)): wrap them
            ax.set_yticks(range(len(weaks)), [textwrap.fill(str(w), 26) for w in weaks], fontsize=7)
            ax.set_xlabel("strong model", fontsize=8)
            ax.set_ylabel("weak model", fontsize=8)
            ax.set_title(textwrap.fill(f"{panel_title(g.panel)} · {g.method}", title_chars(1.1 * n_strong)),
                         fontsize=9)
            ax.set_xticks(np.arange(-0.5, len(strongs)), minor=True)
            ax.set_yticks(np.arange(-0.5, len(weaks)), minor=True)
            ax.grid(which="minor", color="white", lw=1.5)
            ax.tick_params(which="minor", length=0)
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.85)
        cbar.set_label("PGR (accuracy), pooled over all seeds", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    handles = [Patch(facecolor="white", edgecolor="0.5",
                     label=f"PGR [95% CI] {POOLED_NOTE}; n = seeds pooled (undef. = seeds without their own PGR)")]
    if any_unresolved:
        handles.append(Patch(facecolor="0.85", edgecolor="0.3", hatch=UNSTABLE_HATCH, label=NOT_RESOLVED_LABEL))
    legend_below(fig, handles, ncol=1)
    return fig


# ---------------------------------------------------------------- (c) PGR vs gap


@plain_text
def draw_pgr_vs_gap(data: PgrVsGap) -> bytes:
    """PGR against the gap with CIs on both axes; colour = method; unstable hollow grey; undefined × at the
    bottom edge."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    color = colors(data.methods)
    nrows, ncols = grid(len(data.panels))
    fig, axes = figure(nrows, ncols, 4.8, 3.7, extra_h=0.9)
    any_unstable = any_undefined = False
    for ax, (key, points) in zip(axes.flat, data.panels, strict=False):
        ys, xs = [], []
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for p in points:
            x, y = p.gap, p.pgr
            xs += [v for v in (x, p.gap_lo, p.gap_hi) if v is not None]
            xerr = np.array(err(x, p.gap_lo, p.gap_hi))[:, None]
            if y is None:
                any_undefined = True
                ax.plot([x], [0.04], transform=bottom, marker="x", color="0.3", ms=7, ls="none", clip_on=False)
                continue
            ys.append(y)
            yerr = np.array(err(y, p.pgr_lo, p.pgr_hi))[:, None]
            if p.unstable:
                any_unstable = True
                ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", ms=6, mfc="none", mec="0.45", ecolor="0.7",
                            elinewidth=0.9, capsize=2, zorder=2)
            else:
                c = color[p.method]
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
        ax.set_title(panel_title(key), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    hide_unused(axes, len(data.panels))
    handles = [Line2D([], [], color=color[m], marker="o", ls="none", label=m) for m in data.methods]
    if any_unstable:
        handles.append(Line2D([], [], marker="o", mfc="none", mec="0.45", ls="none", label=UNSTABLE_LABEL))
    if any_undefined:
        handles.append(Line2D([], [], marker="x", color="0.3", ls="none",
                              label="PGR undefined (ceiling ≤ weak): × at its gap"))
    legend_below(fig, handles, ncol=min(len(handles), 4 if len(handles) > 4 else 3))
    return png(fig)


# ---------------------------------------------------------------- (d) methods compared


@plain_text
def draw_methods_compared(data: MethodsCompared) -> bytes:
    """Bars of the pooled PGR over all seeds per weak → strong pair and method with 95% CIs (seeds, then test
    groups), the number of seeds above each; a (pair, method) whose mean gap is not resolved is an empty hatched
    bar written "gap not resolved"."""
    from matplotlib.patches import Patch

    methods = data.methods
    color = colors(methods)
    n_pairs = max(len(p.pairs) for p in data.panels)
    nrows, ncols = grid(len(data.panels), 2)
    fig, axes = figure(nrows, ncols, max(4.5, 1.0 + n_pairs * (0.5 + 0.35 * len(methods))), 3.7, extra_h=0.8)
    any_unresolved = False
    width = 0.8 / len(methods)
    for ax, p in zip(axes.flat, data.panels, strict=False):
        bounds = [0.0, 1.0]
        means = [0.0, 1.0]
        unresolved = []
        for gi, pair in enumerate(p.pairs):
            for mi, m in enumerate(methods):
                st = p.stats.get((pair, m))
                if st is None:
                    continue
                x = gi - 0.4 + width * (mi + 0.5)
                if st.shown is None:
                    any_unresolved = True
                    unresolved.append((x, m, st))
                    continue
                e = np.array(err(st.shown, st.lo, st.hi))[:, None]
                ax.bar(x, st.shown, width * 0.92, yerr=e, capsize=2.5, color=color[m], edgecolor=color[m], lw=0.6,
                       error_kw={"elinewidth": 0.9})
                means.append(st.shown)
                bounds += [b for b in (st.lo, st.hi) if b is not None]
                top = max(st.shown, st.hi if st.hi is not None else st.shown, 0.0)
                ax.annotate(f"n={st.n}", (x, top), xytext=(0, 2), textcoords="offset points", ha="center",
                            va="bottom", fontsize=6, color="0.25")
        lo = max(min(bounds), min(means) - 1.0)
        hi = min(max(bounds), max(means) + 1.0)
        pad = 0.08 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        for x, m, st in unresolved:  # an empty hatched bar over the axis, no number
            ax.bar(x, hi - lo, width * 0.92, bottom=lo, color="none", hatch=UNSTABLE_HATCH, edgecolor=color[m],
                   lw=0.6)
            ax.text(x, 0.5 * (lo + hi), f"gap not resolved\nn={st.n}", rotation=90, ha="center", va="center",
                    fontsize=6.5, color="0.1", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.85,
                                                     "ec": "none"})
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.axhline(1.0, color="0.4", ls=":", lw=0.9)
        ax.set_ylim(lo, hi)
        ax.set_xticks(range(len(p.pairs)), [pair_label(w, s) for w, s in p.pairs], fontsize=8)
        ax.set_xlim(-0.6, len(p.pairs) - 0.4)
        ax.set_xlabel("weak → strong", fontsize=8)
        ax.set_ylabel("PGR (accuracy), pooled: 95% CI", fontsize=8)
        ax.set_title(panel_title(p.key), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.25)
    hide_unused(axes, len(data.panels))
    handles = [Patch(facecolor=color[m], label=m) for m in methods]
    handles.append(Patch(facecolor="white", edgecolor="white", label=f"{POOLED_NOTE}; n = seeds pooled"))
    if any_unresolved:
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNSTABLE_HATCH, label=NOT_RESOLVED_LABEL))
    legend_below(fig, handles, ncol=min(len(handles), 3))
    return png(fig)


# ---------------------------------------------------------------- (e) agreement


@plain_text
def draw_agreement(data: AgreementData) -> bytes:
    """Bars of agreement with the weak model where it was right (left) and wrong (right) per pair and method,
    with the ceiling control hatched grey."""
    from matplotlib.patches import Patch

    split, methods = data.split, data.methods
    color = colors(methods)
    bars = [*methods, None]  # None = the ceiling control
    n_pairs = max(len(p.pairs) for p in data.panels)
    fig, axes = figure(len(data.panels), 2, max(4.2, 1.0 + n_pairs * (0.5 + 0.3 * len(bars))), 3.4, extra_h=0.7)
    width = 0.8 / len(bars)
    has_control = False
    for pi, p in enumerate(data.panels):
        for ci, (side, title) in enumerate((("weak_right", "weak model right"),
                                            ("weak_wrong", "weak model wrong (↑ = imitates weak errors)"))):
            ax = axes[pi][ci]
            for gi, pair in enumerate(p.pairs):
                for bi, m in enumerate(bars):
                    stats = p.bars.get((side, pair, m))
                    if stats is None:
                        continue
                    mean, lo, hi, _ = stats
                    has_control |= m is None
                    x = gi - 0.4 + width * (bi + 0.5)
                    e = np.array(err(mean, lo, hi))[:, None]
                    ax.bar(x, mean, width * 0.92, yerr=e, capsize=2, color="0.8" if m is None else color[m],
                           hatch="xx" if m is None else None, edgecolor="0.4" if m is None else color[m], lw=0.6,
                           error_kw={"elinewidth": 0.9})
            ax.set_ylim(0, 1.1)
            ax.set_xticks(range(len(p.pairs)), [pair_label(w, s) for w, s in p.pairs], fontsize=8)
            ax.set_xlim(-0.6, len(p.pairs) - 0.4)
            ax.set_ylabel(f"agreement with weak ({split})", fontsize=8)
            ax.set_title(f"{panel_title(p.key)}: {title}", fontsize=8.5)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(axis="y", alpha=0.25)
    handles = [Patch(facecolor=color[m], label=f"student: {m}") for m in methods]
    if has_control:
        handles.append(Patch(facecolor="0.8", edgecolor="0.4", hatch="xx",
                             label="control: ceiling (trained on ground truth) vs weak"))
    legend_below(fig, handles, ncol=min(len(handles), 4))
    return png(fig)
