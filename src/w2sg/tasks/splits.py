"""Group-aware, seeded, optionally class-balanced (A, B, V, T) splits of a task."""

from __future__ import annotations

import dataclasses

import numpy as np

from w2sg.config import SplitSpec
from w2sg.tasks.checks import one_class_error
from w2sg.tasks.schema import Example, Splits, TaskData

_FLAGS = {"weak_train": "--n-weak-train", "transfer": "--n-transfer", "val": "--n-val", "test": "--n-test",
          "extra": "--n-extra"}
POOL_SEED = 20240101  # the fixed shuffle that picks an `n_pool` subset, the same for every experiment seed


class SingleClassSplitError(ValueError):
    """A split holds rows of one class only, so accuracy/AUROC (and training) are meaningless on it."""


def _shuffled_groups(rows: list[Example], seed: int) -> list[list[Example]]:
    """Rows grouped by `group` (row order kept inside a group), groups sorted by key and then permuted."""
    groups: dict[str, list[Example]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    return [groups[keys[i]] for i in order]


def _filled(rows: list[Example], n: int, balance: bool) -> bool:
    if not balance:
        return len(rows) >= n
    pos = sum(r.label for r in rows)
    return min(pos, len(rows) - pos) >= n // 2


def _take(groups: list[list[Example]], start: int, n: int, balance: bool) -> tuple[list[Example], int]:
    """Whole groups from groups[start:] until the split holds n rows (n // 2 per class when balancing)."""
    rows: list[Example] = []
    i = start
    while i < len(groups) and not _filled(rows, n, balance):
        rows.extend(groups[i])
        i += 1
    return rows, i


def _undersample(rows: list[Example], rng: np.random.Generator) -> list[Example]:
    """Keep a seeded random subset of the majority class the size of the minority class (order kept)."""
    pos = [i for i, r in enumerate(rows) if r.label == 1]
    neg = [i for i, r in enumerate(rows) if r.label != 1]
    small, big = (pos, neg) if len(pos) <= len(neg) else (neg, pos)
    if not small or len(small) == len(big):
        return rows
    keep = set(small) | {big[j] for j in rng.choice(len(big), size=len(small), replace=False)}
    return [r for i, r in enumerate(rows) if i in keep]


def _too_small(task: str, pool: list[Example], sizes: dict[str, int], balance: bool) -> ValueError:
    asked = ", ".join(f"{k}={v}" for k, v in sizes.items())
    pos = sum(r.label for r in pool)
    extra = (f" (with balance: needs n/2 rows of each class; the pool has {pos} positive, "
             f"{len(pool) - pos} negative)") if balance else ""
    flags = "/".join(_FLAGS[k] for k in sizes)
    return ValueError(
        f"task '{task}': the pool has {len(pool)} rows in {len({r.group for r in pool})} groups, too few for "
        f"the requested split sizes {asked} (total {sum(sizes.values())}){extra}; pass smaller {flags}"
    )


def _fixed_subset(data: TaskData, spec: SplitSpec) -> TaskData:
    """`data` cut by one seed-independent shuffle (whole groups): a fixed test pool of n_test rows (from the test
    file when there is one, else the first rows of the pool) and n_pool further rows for A, B, V and extra (plus
    one group per split: splits take whole groups)."""
    need = {"weak_train": spec.n_weak_train, "transfer": spec.n_transfer, "val": spec.n_val, "extra": spec.n_extra}
    if spec.n_pool < sum(need.values()):
        raise ValueError(f"task '{data.name}': splits.n_pool (--n-pool) = {spec.n_pool} is smaller than the splits "
                         f"it must hold ({', '.join(f'{k}={v}' for k, v in need.items())}, total "
                         f"{sum(need.values())}); raise n_pool to at least {sum(need.values())}")
    groups, start, t_start = _shuffled_groups(data.pool, POOL_SEED), 0, 0
    test_groups = None if data.test is None else _shuffled_groups(data.test, POOL_SEED)
    # splits take whole groups, so each may overshoot by less than a group: room for one more group per split
    slack = len(need) * max(len(g) for g in groups)
    for block in range(spec.pool_block + 1):  # block b: the rows after blocks 0..b-1 (T and pool alike)
        if test_groups is None:
            test, start = _take(groups, start, spec.n_test, False)
        else:
            test, t_start = _take(test_groups, t_start, spec.n_test, False)
        pool, start = _take(groups, start, spec.n_pool + slack, False)
        if block and (len(test) < spec.n_test or len(pool) < spec.n_pool):
            raise ValueError(f"task '{data.name}': splits.pool_block = {spec.pool_block} needs {spec.pool_block + 1} "
                             f"disjoint blocks of n_test = {spec.n_test} test rows and n_pool = {spec.n_pool} rows; "
                             f"block {block} has {len(test)} and {len(pool)}: use a smaller block, n_test or n_pool")
    return dataclasses.replace(data, pool=pool, test=test)


def make_splits(data: TaskData, spec: SplitSpec, seed: int) -> Splits:
    """Split a task into weak-train A, transfer B, weak-labelled validation V and test T.

    Deterministic per seed; whole groups only (a split may overshoot its size by less than one group);
    T comes from the task's test pool (capped at n_test) when it has one, else from the main pool first.
    With `n_pool` every seed splits one fixed subset (`_fixed_subset`): the same T, and A/B/V re-drawn from the
    same n_pool rows, so frozen features are computed once for all seeds. A pool or test file of one class is an
    error that says so (no seed or split size can help).
    """
    for part, rows in (("pool", data.pool), ("test file (split 'test')", data.test or [])):
        error = one_class_error(data.name, part, rows, data.source)
        if error is not None:
            raise SingleClassSplitError(error)
    if spec.pool_block and spec.n_pool is None:
        raise ValueError(f"splits.pool_block = {spec.pool_block} picks a block of the fixed n_pool subset; set "
                         "splits.n_pool too (or drop pool_block)")
    if spec.n_pool is not None:
        data = _fixed_subset(data, spec)
    sizes = {"weak_train": spec.n_weak_train, "transfer": spec.n_transfer, "val": spec.n_val, "extra": spec.n_extra}
    if data.test is None:
        sizes = {"test": spec.n_test, **sizes}
    if sum(sizes.values()) > len(data.pool):
        raise _too_small(data.name, data.pool, sizes, spec.balance)

    out: dict[str, list[Example]] = {}
    groups = _shuffled_groups(data.pool, seed)
    pos = 0
    for name, n in sizes.items():
        if n == 0:
            out[name] = []
            continue
        out[name], pos = _take(groups, pos, n, spec.balance)
        if not _filled(out[name], n, spec.balance):
            raise _too_small(data.name, data.pool, sizes, spec.balance)
    if data.test is not None:
        out["test"], _ = _take(_shuffled_groups(data.test, seed), 0, spec.n_test, spec.balance)

    if spec.balance:
        for k, name in enumerate(_FLAGS):
            out[name] = _undersample(out[name], np.random.default_rng([seed, k + 1]))
    splits = Splits(weak_train=out["weak_train"], transfer=out["transfer"], val=out["val"], test=out["test"],
                    extra=out["extra"])
    _check(data.name, splits)
    return splits


def _check(task: str, splits: Splits) -> None:
    """No text or group in two splits (a bug if it happens: load-time dedup prevents it); two classes each."""
    seen_text: dict[str, str] = {}
    seen_group: dict[str, str] = {}
    for name, rows in splits.items():
        for r in rows:
            for key, seen in ((r.text, seen_text), (r.group, seen_group)):
                other = seen.setdefault(key, name)
                if other != name:
                    raise RuntimeError(
                        f"task '{task}': row {r.id} shares its text or group with a row in split '{other}' "
                        f"as well as '{name}' (duplicates should have been removed at load time)"
                    )
    for name, rows in splits.items():
        labels = {r.label for r in rows}
        if len(labels) == 1:
            (only,) = labels
            raise SingleClassSplitError(
                f"task '{task}': split '{name}' has {len(rows)} rows, all of class {only}; use more rows "
                f"({_FLAGS[name]}), another seed, or a task with both classes in that pool"
            )
