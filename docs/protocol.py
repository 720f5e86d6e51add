"""Draw docs/protocol.svg: the four splits (A, B, V, T) and the protocol's steps, as `w2sg.pipeline.steps` runs
them. Rerun after changing the protocol: `python docs/protocol.py` (matplotlib; the SVG is deterministic)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("protocol.svg")
SPLIT_COLOURS = {"A": "#c6dbef", "B": "#fdd0a2", "V": "#fde0ef", "T": "#d9d9d9"}
STEP = "#f7f7f7"


def box(ax, x, y, w, h, text, colour, bold=False, size=10):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08", fc=colour,
                                ec="#444444", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
            fontweight="bold" if bold else "normal", linespacing=1.35)


def arrow(ax, start, end, text="", dx=0.0, dy=0.0, rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.1, color="#333333",
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2 + dx, (start[1] + end[1]) / 2 + dy, text, ha="center", va="center",
                fontsize=8.5, style="italic", color="#333333")


def draw() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 5.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.8)
    ax.axis("off")
    # the splits (columns): disjoint by group, no text in two splits
    col = {"A": 0.2, "B": 2.7, "V": 5.2, "T": 7.7}
    w = 2.1
    what = {"A": "weak-train", "B": "transfer set", "V": "validation\n(from B's pool)", "T": "test"}
    for name, x in col.items():
        box(ax, x, 4.45, w, 0.95, f"{name}\n{what[name]}", SPLIT_COLOURS[name])
    ax.text(5.0, 5.62, "one task split by group (no text in two splits); sizes --n-weak-train, --n-transfer, "
            "--n-val, --n-test", ha="center", va="center", fontsize=8.5, color="#555555")
    row2, row3, h = 2.85, 1.3, 1.05
    # 1. the weak model on A's ground truth; 2. its labels on B and V
    box(ax, col["A"], row2, w, h, "① weak model\ntrained on\nA's ground truth", STEP)
    arrow(ax, (col["A"] + w / 2, 4.45), (col["A"] + w / 2, row2 + h + 0.02))
    box(ax, col["B"], row2, w, h, "② weak labels:\nthe weak model\nlabels B and V", STEP)
    arrow(ax, (col["A"] + w + 0.02, row2 + h / 2), (col["B"] - 0.02, row2 + h / 2))
    arrow(ax, (col["B"] + w / 2, 4.45), (col["B"] + w / 2, row2 + h + 0.02))
    # 4. the ceiling: the strong model on B's ground truth (the same rows as the student)
    box(ax, col["V"], row2, w, h, "④ ceiling: the strong\nmodel trained on\nB's ground truth", STEP)
    arrow(ax, (col["B"] + w - 0.15, 4.45), (col["V"] + 0.15, row2 + h + 0.02))
    # 3. the student: the strong model on B's weak labels, its choices made on V's weak labels
    box(ax, col["B"], row3, w, h, "③ student: the strong\nmodel trained on\nB's weak labels", STEP)
    arrow(ax, (col["B"] + w / 2, row2 - 0.02), (col["B"] + w / 2, row3 + h + 0.02))
    box(ax, col["V"], row3, w, h, "its choices (early\nstopping, L2) on\nV's / B's weak labels", SPLIT_COLOURS["V"],
        size=9)
    arrow(ax, (col["V"] - 0.02, row3 + h / 2), (col["B"] + w + 0.02, row3 + h / 2))
    # all three scored on T
    box(ax, col["T"], row3, w, row2 + h - row3, "scored on T:\nweak model,\nstudent, ceiling\n(accuracy, AUROC,\n"
        "95% CIs)", SPLIT_COLOURS["T"], size=9.5)
    arrow(ax, (col["T"] + w / 2, 4.45), (col["T"] + w / 2, row2 + h + 0.02))
    box(ax, 0.2, 0.2, 9.6, 0.75, "PGR = (student − weak) / (ceiling − weak):\nthe share of the weak→strong gap the "
        "student recovers", "#ffffff", bold=True, size=10)
    arrow(ax, (col["T"] + w / 2, row3 - 0.02), (col["T"] + w / 2, 0.97))
    return fig


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "w2sg-protocol"  # stable ids: the file changes only when the drawing does
    plt.rcParams["svg.fonttype"] = "none"  # text stays text
    fig = draw()
    fig.savefig(OUT, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    print(OUT)


if __name__ == "__main__":
    main()
