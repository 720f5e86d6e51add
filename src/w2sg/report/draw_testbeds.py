"""Drawing of the Testbeds figures from their aggregated data (`w2sg.report.testbeds`) as PNG bytes.

Same conventions as `w2sg.report.draw`: `matplotlib.figure.Figure` with the Agg renderer, never pyplot; each
function takes data with at least one panel and returns the PNG file as bytes. A PGR is the pooled PGR of all
seeds (`aggregate.PooledStat`): a point only where the mean gap is resolved, else a × on the bottom edge.
"""

from __future__ import annotations

import numpy as np

from w2sg.report.aggregate import POOLED_NOTE
from w2sg.report.draw import (
    LINESTYLES,
    MARKERS,
    NOT_RESOLVED_LABEL,
    colors,
    err,
    figure,
    grid,
    hide_unused,
    legend_below,
    png,
)
from w2sg.report.escape import plain_text
from w2sg.report.testbeds import LOCKED_REFS, REGION_LABELS, REGIONS, LockedPanel, RegionPanel, SupervisorQuality

ERROR_COLORS = {"random": "#1f77b4", "region": "#d62728", "class_conditional": "#2ca02c", "degrade": "#9467bd"}
REF_STYLES = {"weak_acc": ("0.35", "--"), "ceiling_acc": ("#1f77b4", "-"), "locked_acc": ("#d62728", ":"),
              "locked_acc_trigger": ("#2ca02c", "-.")}


def _limits(values: list[float], lo: float = 0.0, hi: float = 1.0) -> tuple[float, float]:
    a, b = min([lo, *values]), max([hi, *values])
    pad = 0.06 * (b - a or 1.0)
    return a - pad, b + pad


# ---------------------------------------------------------------- 1. supervisor quality


@plain_text
def draw_supervisor_quality(data: SupervisorQuality) -> bytes:
    """Two panels per task: the pooled PGR (95% CI) and student accuracy against the supervisor's accuracy on T,
    one line per (error kind, method): colour = error kind, line style and marker = method; y = x and the ceiling
    on the right. A point whose mean gap is not resolved is a × on the bottom edge and breaks its line."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    ecolor = {k: ERROR_COLORS.get(k) or c for k, c in colors(data.errors).items()}
    style = {m: (LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)]) for i, m in enumerate(data.methods)}
    fig, axes = figure(len(data.panels), 2, 4.8, 3.7, extra_h=0.5 + 0.22 * (len(data.errors) + len(data.methods)))
    any_unresolved = False
    n_seeds = {q.pgr.n for p in data.panels for pts in p.lines.values() for q in pts}
    for row, p in zip(axes, data.panels, strict=True):
        ax_pgr, ax_acc = row
        xs, pgrs, accs = [], [0.0, 1.0], []
        for (kind, m), pts in p.lines.items():
            ls, mk = style[m]
            c = ecolor[kind]
            x = [q.x for q in pts]
            xs += x
            bottom = blended_transform_factory(ax_pgr.transData, ax_pgr.transAxes)
            segment: list[tuple[float, float]] = []
            for q in pts:  # by x; a point without a resolved gap breaks the line
                v = q.pgr.shown
                if v is None:
                    segment = []
                    any_unresolved = True
                    ax_pgr.plot([q.x], [0.03], transform=bottom, marker="x", color=c, ms=6, mew=1.2, ls="none",
                                clip_on=False, zorder=3)
                    continue
                segment.append((q.x, v))
                if len(segment) > 1:
                    ax_pgr.plot([a for a, _ in segment[-2:]], [b for _, b in segment[-2:]], color=c, ls=ls, lw=1.5,
                                zorder=2)
                e = np.array(err(v, q.pgr.lo, q.pgr.hi))[:, None]
                ax_pgr.errorbar([q.x], [v], yerr=e, fmt=mk, ms=5, color=c, ecolor=c, elinewidth=0.9, capsize=2,
                                mfc=c, zorder=3)
                pgrs += [b for b in (v, q.pgr.lo, q.pgr.hi) if b is not None]
                if len(n_seeds) > 1:  # seeds differ between points: each says how many it pools
                    ax_pgr.annotate(f"n={q.pgr.n}", (q.x, v), xytext=(3, 2), textcoords="offset points", fontsize=5.5,
                                    color=c, ha="left", va="bottom")
            acc = [q for q in pts if q.student[0] is not None]
            if acc:
                ax_acc.plot([q.x for q in acc], [q.student[0] for q in acc], color=c, ls=ls, marker=mk, ms=5, lw=1.5)
                for q in acc:
                    e = np.array(err(q.student[0], q.student[1], q.student[2]))[:, None]
                    ax_acc.errorbar([q.x], [q.student[0]], yerr=e, fmt="none", ecolor=c, elinewidth=0.8, capsize=2)
                    accs.append(q.student[0])
        ax_pgr.axhline(0.0, color="0.4", ls=":", lw=0.9)
        ax_pgr.axhline(1.0, color="0.4", ls=":", lw=0.9)
        lo, hi = min(pgrs), max(pgrs)
        ax_pgr.set_ylim(max(lo, -2.0) - 0.08 * (hi - lo), min(hi, 3.0) + 0.08 * (hi - lo))
        ax_pgr.set_ylabel("PGR (accuracy) pooled over all seeds, 95% CI", fontsize=8)
        ax_pgr.set_title(f"{p.task}: PGR", fontsize=9)
        values = xs + accs + ([p.ceiling] if p.ceiling is not None else [])
        lo, hi = _limits(values, min(values), max(values))
        lo, hi = max(0.0, lo), min(1.0, hi)
        ax_acc.plot([lo, hi], [lo, hi], color="k", lw=0.8, alpha=0.45, zorder=0)
        if p.ceiling is not None:
            ax_acc.axhline(p.ceiling, color="0.25", ls="--", lw=1.0, alpha=0.8)
        ax_acc.set_ylim(lo, hi)
        ax_acc.set_ylabel("student accuracy on T (mean over seeds)", fontsize=8)
        ax_acc.set_title(f"{p.task}: student accuracy", fontsize=9)
        xlo, xhi = _limits(xs, min(xs), max(xs))
        for ax in row:
            ax.set_xlim(xlo, xhi)
            ax.set_xlabel("supervisor accuracy on T (mean over seeds)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.25)
    handles = [Line2D([], [], color=ecolor[k], lw=2, label=f"errors: {k}") for k in data.errors]
    handles += [Line2D([], [], color="0.2", ls=style[m][0], marker=style[m][1], ms=5, label=f"method: {m}")
                for m in data.methods]
    handles += [Line2D([], [], color="k", lw=0.8, alpha=0.45, label="y = x: student = supervisor"),
                Line2D([], [], color="0.25", ls="--", lw=1.0, label="ceiling accuracy (mean)")]
    seeds = f"n = {next(iter(n_seeds))} seeds per point" if len(n_seeds) == 1 else "n = seeds of the point"
    handles.append(Line2D([], [], color="white", label=f"PGR {POOLED_NOTE}; {seeds}"))
    if any_unresolved:
        handles.append(Line2D([], [], marker="x", color="0.3", mew=1.2, ls="none",
                              label=f"× on the bottom edge: {NOT_RESOLVED_LABEL}"))
    legend_below(fig, handles)
    return png(fig)


# ---------------------------------------------------------------- 2. region heatmap


@plain_text
def draw_region_heatmap(panels: list[RegionPanel]) -> bytes:
    """Methods × regions grids of the student's mean accuracy, annotated, one panel per (task, family)."""
    import matplotlib
    from matplotlib.colors import Normalize

    cmap, norm = matplotlib.colormaps["RdYlGn"], Normalize(0.0, 1.0)
    n_methods = max(len(p.methods) for p in panels)
    nrows, ncols = grid(len(panels), 2)
    fig, axes = figure(nrows, ncols, 5.6, 1.5 + 0.45 * n_methods, extra_h=0.3)
    mappable = None
    for ax, p in zip(axes.flat, panels, strict=False):
        mat = np.full((len(p.methods), len(REGIONS)), np.nan)
        for (m, reg), (v, _) in p.cells.items():
            if v is not None:
                mat[p.methods.index(m), REGIONS.index(reg)] = v
        mappable = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, norm=norm, aspect="auto")
        for (m, reg), (v, n) in p.cells.items():
            i, j = p.methods.index(m), REGIONS.index(reg)
            ax.text(j, i, "n/a" if v is None else f"{v:.2f}\n({n} exp.)", ha="center", va="center",
                    fontsize=7.5, color="0.4" if v is None else "k")
        labels = [REGION_LABELS[g].replace(" strong", "\nstrong") + (
            f"\nn={p.n[g]:.0f}" if p.n[g] is not None else "") for g in REGIONS]
        ax.set_xticks(range(len(REGIONS)), labels, fontsize=7.5)
        ax.set_yticks(range(len(p.methods)), p.methods, fontsize=8)
        ax.set_title(f"{p.task} · {p.family}", fontsize=9)
        ax.set_xticks(np.arange(-0.5, len(REGIONS)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(p.methods)), minor=True)
        ax.grid(which="minor", color="white", lw=1.5)
        ax.tick_params(which="minor", length=0)
    hide_unused(axes, len(panels))
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.85)
        cbar.set_label("student accuracy in the region (mean)", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    return png(fig)


# ---------------------------------------------------------------- 3. locked-model elicitation


@plain_text
def draw_locked(panels: list[LockedPanel]) -> bytes:
    """Per method, bars of the student's accuracy without / with the trigger (95% CI); horizontal lines for
    the weak supervisor, the ceiling and the locked model without / with the trigger; one panel per variant."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n_methods = max(len(p.methods) for p in panels)
    nrows, ncols = grid(len(panels), 2)
    fig, axes = figure(nrows, ncols, max(4.5, 1.5 + 1.1 * n_methods), 3.6, extra_h=0.8)
    bar_style = {"student_acc": ("#ff7f0e", None, "student"), "student_acc_trigger": ("#ffbb78", "..",
                                                                                      "student + trigger")}
    for ax, p in zip(axes.flat, panels, strict=False):
        values = [v for v in p.refs.values() if v is not None]
        for i, m in enumerate(p.methods):
            for k, (key, (c, hatch, _)) in enumerate(bar_style.items()):
                mean, lo, hi, _ = p.bars[(m, key)]
                if mean is None:
                    continue
                x = i - 0.2 + 0.4 * k
                ax.bar(x, mean, 0.38, yerr=np.array(err(mean, lo, hi))[:, None], capsize=2.5, color=c, hatch=hatch,
                       edgecolor="0.3", lw=0.5, error_kw={"elinewidth": 0.9})
                ax.annotate(f"{mean:.2f}", (x, mean if hi is None else max(mean, hi)), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
                values += [v for v in (mean, lo, hi) if v is not None]
        for key, _ in LOCKED_REFS:
            if p.refs.get(key) is not None:
                c, ls = REF_STYLES[key]
                ax.axhline(p.refs[key], color=c, ls=ls, lw=1.2)
        lo, hi = min(values or [0.0]), max(values or [1.0])
        pad = max(0.03, 0.1 * (hi - lo))
        ax.set_ylim(max(0.0, lo - pad), min(1.1, hi + 1.5 * pad))
        ax.set_xticks(range(len(p.methods)), p.methods, fontsize=8)
        ax.set_xlim(-0.6, len(p.methods) - 0.4)
        ax.set_ylabel("accuracy on T (mean over seeds)", fontsize=8)
        ax.set_title(f"{p.task} · locked: {p.variant}", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.25)
    hide_unused(axes, len(panels))
    handles = [Patch(facecolor=c, hatch=h, edgecolor="0.3", label=lab) for c, h, lab in bar_style.values()]
    handles += [Line2D([], [], color=REF_STYLES[k][0], ls=REF_STYLES[k][1], lw=1.2, label=lab)
                for k, lab in LOCKED_REFS]
    legend_below(fig, handles, ncol=3)
    return png(fig)
