"""The leaderboard's figure (`w2sg bench --page`): each method's median pooled PGR over tasks with its CI."""

from __future__ import annotations

from collections.abc import Sequence

from w2sg.report.draw import figure, png


def draw_leaderboard(rows: Sequence[dict], title: str, highlight: str | None = None) -> bytes:
    """Horizontal bars: one per method (rows: `method`, `value`, `ci`), best on top; the submitted method in
    orange, the learn-nothing baselines in grey, 0 (the weak model) and 1 (the ceiling) marked."""
    rows = [r for r in rows if r.get("value") is not None]
    fig, axes = figure(1, 1, 6.5, 0.35 * max(len(rows), 3) + 0.8)
    ax = axes[0][0]
    for i, r in enumerate(reversed(rows)):
        lo, hi = r["ci"]
        color = "#ff7f0e" if r["method"] == highlight else "#7f7f7f" if r["method"] in ("always_majority",
                                                                                           "constant") else "#1f77b4"
        ax.barh(i, r["value"], color=color, alpha=0.8)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [i, i], color="black", lw=1)
    ax.set_yticks(range(len(rows)), [r["method"] for r in reversed(rows)], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_xlabel("median over tasks of the pooled PGR (0 = weak model, 1 = ceiling), 95% CI", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return png(fig)
