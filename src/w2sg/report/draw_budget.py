"""Drawing of the PGR-vs-budget figure from its points (`w2sg.report.budget.budget_points`) as PNG bytes:
step budgets on a log axis, then the converged / full-run budget and the early stopping budgets (weak-label
and ORACLE) as categorical slots on the right, one panel per (task, mode) with a shared y axis."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from w2sg.report.aggregate import NOT_RESOLVED, POOLED_NOTE, panel_title
from w2sg.report.budget import BUDGET_METRICS, SLOT_ORDER, BudgetPoint
from w2sg.report.draw import COLORS, err, figure, grid, hide_unused, legend_below, png
from w2sg.report.escape import plain_text


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


@plain_text
def draw_pgr_vs_budget(points: list[BudgetPoint]) -> bytes:
    """PGR (accuracy solid, AUROC dashed) against the student's training budget (at least one point)."""
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
    slots = sorted({(p.kind, p.budget) for p in points if p.kind != "steps"}, key=lambda kb: (SLOT_ORDER[kb[0]],
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

    # shared y: every PGR drawn (resolved mean gap) and its CI bounds, CIs clipped to one PGR unit around them
    means = [p.value for p in points if p.value is not None]
    bounds = [b for p in points if p.value is not None for b in (p.stat.lo, p.stat.hi) if b is not None]
    lo_m, hi_m = min([0.0, *means]), max([1.0, *means])
    y_lo = max(min([lo_m, *bounds]), lo_m - 1.0)
    y_hi = min(max([hi_m, *bounds]), hi_m + 1.0)
    pad = 0.08 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad

    n = len(panels)
    nrows, ncols = grid(n, 5 if n > 12 else 4)
    fig, axes = figure(nrows, ncols, 3.4, 2.9, extra_h=0.9 + 0.2 * math.ceil((len(series) + 4) / 3))
    n_seeds = {p.stat.n for p in points}
    any_unresolved = any_oracle = False
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
                # the line joins consecutive step budgets whose PGR is drawn; an unresolved one breaks it
                segment: list[tuple[float, float]] = []
                for p in sorted((p for p in sp if p.steps is not None), key=lambda p: p.steps):
                    if p.value is None:
                        segment = []
                        continue
                    segment.append((p.steps * jitter[(s, metric)], p.value))
                    if len(segment) > 1:
                        ax.plot([x for x, _ in segment[-2:]], [y for _, y in segment[-2:]], color=c,
                                ls="--" if dashed else "-", lw=1.3, zorder=2)
                for p in sp:
                    x = (p.steps if p.steps is not None else slot_x[p.budget]) * jitter[(s, metric)]
                    if p.value is None:  # gap not resolved: no PGR, a × on the bottom edge at its budget
                        any_unresolved = True
                        ax.plot([x], [0.03], transform=bottom, marker="x", color=c, ms=6, mew=1.2, ls="none",
                                clip_on=False, zorder=3)
                        continue
                    e = np.array(err(p.value, p.stat.lo, p.stat.hi))[:, None]
                    big = p.oracle
                    any_oracle |= big
                    eb = ax.errorbar([x], [p.value], yerr=e, fmt="*" if big else ("s" if dashed else "o"),
                                     ms=8 if big else 4.5, color=c, mfc=fill, mec="k" if big else c, mew=0.9,
                                     ecolor=c, elinewidth=0.9, capsize=2, zorder=3)
                    if dashed:
                        for col in eb[2]:
                            col.set_linestyle("--")
                    if len(n_seeds) > 1:  # seeds differ between points: each says how many it pools
                        ax.annotate(f"n={p.stat.n}", (x, p.value), xytext=(3, 2), textcoords="offset points",
                                    fontsize=5.5, color=c, ha="left", va="bottom")
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
            ax.set_ylabel("PGR pooled over all seeds (95% CI)", fontsize=7.5)
        ax.set_title(panel_title(key), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.25)
    hide_unused(axes, n)
    handles: list = [Line2D([], [], color=color[s], lw=2, label=s) for s in series]
    handles += [Line2D([], [], color="0.2", ls="-", marker="o", ms=4.5, label="PGR (accuracy)"),
                Line2D([], [], color="0.2", ls="--", marker="s", ms=4.5, mfc="white", label="PGR (AUROC)")]
    if any_oracle:
        handles.append(Line2D([], [], color="0.2", ls="none", marker="*", ms=8, mec="k",
                              label="ORACLE early stop: a bound, not a method"))
    if slots:
        handles.append(Patch(facecolor="0.93", edgecolor="0.5", ls="--",
                             label="right of the dashed line: no step count"))
    if any_unresolved:
        handles.append(Line2D([], [], color="0.3", marker="x", ms=6, mew=1.2, ls="none",
                              label=f"× on the bottom edge: {NOT_RESOLVED} (mean gap CI ∋ 0), no PGR drawn"))
    seeds = f"n = {next(iter(n_seeds))} seeds per point" if len(n_seeds) == 1 else "n = seeds of the point"
    handles.append(Patch(facecolor="white", edgecolor="white", label=f"{POOLED_NOTE}; {seeds}"))
    legend_below(fig, handles, ncol=min(len(handles), 4))
    return png(fig)


