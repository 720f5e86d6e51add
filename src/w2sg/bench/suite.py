"""The benchmark suites: named, versioned sets of cells (task, weak -> strong pair) with fixed sizes, mode and seeds,
each split into a public *dev* part for iterating and a *final* part whose evaluations are counted.

The two parts share no row: both re-split a fixed subset of each task (`splits.n_pool`), dev from block 0 of the
fixed shuffle, final from block 1 (`splits.pool_block`), so T, A, B and V of the final part are rows the dev part
never showed. A suite's version changes whenever its cells, sizes or seeds do; rows of another version never mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec

PARTS = ("dev", "final")


@dataclass(frozen=True)
class Cell:
    task: str
    weak: str
    strong: str


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    cells: tuple[Cell, ...]
    splits: SplitSpec
    train: TrainSpec
    seeds: tuple[int, ...]
    blocks: dict[str, int] = field(default_factory=lambda: {"dev": 0, "final": 1})
    about: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"

    def specs(self, part: str) -> list[ExperimentSpec]:
        """One spec per (cell, seed) of `part`, with the placeholder method naive (the student step is sealed)."""
        if part not in self.blocks:
            raise ValueError(f"suite {self.label} has parts {list(self.blocks)}, not {part!r}")
        splits = self.splits.model_copy(update={"pool_block": self.blocks[part]})
        return [ExperimentSpec(task=c.task, weak=c.weak, strong=c.strong, method="naive", seed=s, splits=splits,
                               train=self.train) for c in self.cells for s in self.seeds]


# minilm -> mpnet on the six built-in tasks whose gap the method-zoo study resolved on CPU (mean ceiling - weak over
# all seeds, 95% CI above 0: ethics_commonsense, ethics_deontology, ethics_justice, sciq, sst2, twitter_sentiment)
CPU = Suite(
    name="cpu", version="v1",
    cells=tuple(Cell(t, "minilm", "mpnet") for t in ("sst2", "twitter_sentiment", "sciq", "ethics_deontology",
                                                      "ethics_justice", "ethics_commonsense")),
    splits=SplitSpec(n_weak_train=400, n_transfer=400, n_val=100, n_test=400, n_pool=900),
    train=TrainSpec(mode="frozen", max_length=128), seeds=(0, 1, 2),
    about="frozen features (linear-probe students), minilm -> mpnet, six tasks with a resolved gap on CPU")

# the same cells finetuned on a GPU (full finetuning of the strong model's head and body); the sealed runner takes
# frozen features only for now, so `w2sg bench --suite gpu` says so instead of running
GPU = Suite(
    name="gpu", version="v1",
    cells=tuple(Cell(t, "smollm2-135m", "qwen2.5-coder-1.5b") for t in ("sst2", "twitter_sentiment", "sciq",
                                                                        "ethics_deontology", "ethics_justice",
                                                                        "ethics_commonsense")),
    splits=SplitSpec(n_weak_train=1000, n_transfer=1000, n_val=200, n_test=500, n_pool=2200),
    train=TrainSpec(mode="full", max_length=256), seeds=(0, 1, 2),
    about="full finetuning, smollm2-135m -> qwen2.5-coder-1.5b (needs a GPU and a finetuning sandbox)")

SUITES = {s.name: s for s in (CPU, GPU)}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; known: {', '.join(SUITES)}")
    return SUITES[name]
