"""Figures of the theory study (`studies/theory/`), as PNG bytes: a prediction's quantity against the measured one
with the line the theory draws (gain against misfit with the identity; the student's loss against its
supervisor's on log axes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import NullFormatter

from w2sg.report.draw import COLORS, MARKERS, figure, legend_below, png


def draw_gain_vs_misfit(panels: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]],
                        xlabel: str = "misfit on B", ylabel: str = "gain on B (err_w − err_s)") -> bytes:
    """One panel per title: per task the runs' (misfit, gain) points, and the identity line gain = misfit that
    the bound says they lie on or above (equality in a linear subspace)."""
    fig, axes = figure(1, len(panels), 4.2, 3.6)
    axes = axes.ravel()
    tasks = sorted({t for p in panels.values() for t in p})
    handles = {}
    for ax, (title, by_task) in zip(axes, panels.items(), strict=True):
        top = 0.0
        for i, task in enumerate(tasks):
            if task not in by_task:
                continue
            x, y = by_task[task]
            handles[task] = ax.scatter(x, y, s=14, color=COLORS[i % len(COLORS)], marker=MARKERS[i % len(MARKERS)],
                                       label=task)
            top = max(top, float(np.max(x, initial=0)), float(np.max(y, initial=0)))
        line = ax.plot([0, top * 1.05], [0, top * 1.05], "--", color="black", lw=1,
                       label="gain = misfit (the bound: on or above)")[0]
        handles["identity"] = line
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    legend_below(fig, list(handles.values()), ncol=4)
    return png(fig)


def draw_loss_vs_loss(series: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]]) -> bytes:
    """One panel per supervisor kind: per task the student's squared loss on T against its supervisor's, log-log,
    with the identity (no gain) for reference."""
    fig, axes = figure(1, len(series), 4.2, 3.6)
    axes = axes.ravel()
    tasks = sorted({t for s in series.values() for t in s})
    handles = {}
    for ax, (title, by_task) in zip(axes, series.items(), strict=True):
        lo, hi = 1.0, 0.0
        for i, task in enumerate(tasks):
            if task not in by_task:
                continue
            x, y = (np.asarray(v, dtype=float) for v in by_task[task])
            ok = (x > 0) & (y > 0)
            handles[task] = ax.scatter(x[ok], y[ok], s=14, color=COLORS[i % len(COLORS)],
                                       marker=MARKERS[i % len(MARKERS)], label=task)
            if ok.any():
                lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
        if hi > lo:
            handles["identity"] = ax.plot([lo, hi], [lo, hi], "--", color="black", lw=1,
                                         label="student = supervisor")[0]
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # decade labels only: minor labels collide on a short log range
            axis.set_minor_formatter(NullFormatter())
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("supervisor's squared loss on T", fontsize=8)
        ax.set_ylabel("student's squared loss on T", fontsize=8)
        ax.tick_params(labelsize=7)
    legend_below(fig, list(handles.values()), ncol=4)
    return png(fig)
