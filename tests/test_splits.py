"""make_splits: group-aware, deterministic per seed, sized in rows, balanced on request, loud on bad input."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from w2sg.config import SplitSpec
from w2sg.tasks import SingleClassSplitError, TaskData, load_task, make_splits
from w2sg.tasks.schema import Example, Splits

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def synth(n_groups: int = 400, group_size: int = 1, pos_every: int = 2, test_groups: int = 0,
          name: str = "synth") -> TaskData:
    """Groups of `group_size` rows; row i (counted over all groups) is positive when i % pos_every == 0."""

    def rows(prefix: str, n: int) -> list[Example]:
        out = []
        for g in range(n):
            for k in range(group_size):
                i = g * group_size + k
                label = int(i % pos_every == 0)
                out.append(Example(f"{prefix}{i}", f"{prefix}g{g}", f"{prefix} text {i}", label))
        return out

    return TaskData(name=name, pool=rows("p", n_groups), test=rows("t", test_groups) if test_groups else None)


def spec(a: int = 50, b: int = 60, v: int = 20, t: int = 30, balance: bool = False) -> SplitSpec:
    return SplitSpec(n_weak_train=a, n_transfer=b, n_val=v, n_test=t, balance=balance)


def ids(s: Splits) -> dict[str, list[str]]:
    return {name: [r.id for r in rows] for name, rows in s.items()}


def assert_disjoint(s: Splits) -> None:
    where_group: dict[str, str] = {}
    texts: set[str] = set()
    for name, rows in s.items():
        for r in rows:
            assert where_group.setdefault(r.group, name) == name, f"group {r.group} in two splits"
        split_texts = {r.text for r in rows}
        assert not texts & split_texts
        texts |= split_texts


def test_exact_sizes_with_single_row_groups():
    s = make_splits(synth(), spec(), seed=0)
    assert [len(rows) for _, rows in s.items()] == [50, 60, 20, 30]
    assert_disjoint(s)


def test_groups_stay_together_and_overshoot_less_than_one_group():
    data = synth(n_groups=200, group_size=4, pos_every=4)
    s = make_splits(data, spec(a=50, b=61, v=22, t=30), seed=3)
    assert_disjoint(s)
    for (name, rows), want in zip(s.items(), (50, 61, 22, 30), strict=True):
        assert want <= len(rows) < want + 4, name
        for g in {r.group for r in rows}:  # every row of every group present
            assert sum(r.group == g for r in rows) == 4


def test_deterministic_per_seed_and_different_across_seeds():
    data = synth()
    assert ids(make_splits(data, spec(), seed=7)) == ids(make_splits(data, spec(), seed=7))
    for name in ("weak_train", "transfer", "val", "test"):
        assert ids(make_splits(data, spec(), seed=7))[name] != ids(make_splits(data, spec(), seed=8))[name]


def test_does_not_depend_on_row_order_of_the_pool():
    data = synth(group_size=2)
    shuffled = TaskData(name=data.name, pool=list(reversed(data.pool)))
    a, b = make_splits(data, spec(), 1), make_splits(shuffled, spec(), 1)
    assert {k: sorted(v) for k, v in ids(a).items()} == {k: sorted(v) for k, v in ids(b).items()}


def test_order_t_a_b_v_and_v_is_carved_after_b():
    data = synth()
    base = ids(make_splits(data, spec(v=20), seed=0))
    more_val = ids(make_splits(data, spec(v=40), seed=0))
    assert base["test"] == more_val["test"] and base["weak_train"] == more_val["weak_train"]
    assert base["transfer"] == more_val["transfer"]  # V comes from what is left after B
    assert more_val["val"][:20] == base["val"]
    no_val = make_splits(data, spec(v=0), seed=0)
    assert no_val.val == []


def test_test_split_comes_from_the_task_test_pool_capped():
    data = synth(n_groups=200, test_groups=50)
    s = make_splits(data, spec(t=30), seed=0)
    assert len(s.test) == 30 and all(r.id.startswith("t") for r in s.test)
    assert all(r.id.startswith("p") for name, rows in s.items() if name != "test" for r in rows)
    big = make_splits(data, spec(t=1000), seed=0)
    assert len(big.test) == 50  # capped by the test file, not an error
    # with a test file, the pool only has to hold A + B + V
    make_splits(synth(n_groups=130, test_groups=10), spec(a=50, b=60, v=20, t=30), seed=0)


def test_too_small_pool_names_task_rows_sizes_and_flags():
    with pytest.raises(ValueError) as e:
        make_splits(synth(n_groups=100, name="tiny"), spec(), seed=0)
    msg = str(e.value)
    assert "'tiny'" in msg and "100 rows" in msg and "weak_train=50" in msg and "transfer=60" in msg
    assert "--n-weak-train" in msg and "--n-transfer" in msg


def test_too_small_when_groups_overshoot():
    data = synth(n_groups=38, group_size=4)  # 152 rows >= 4 x 37 asked, but each split takes 40
    with pytest.raises(ValueError, match="too few"):
        make_splits(data, spec(a=37, b=37, v=37, t=37), seed=0)


def test_balance_single_rows_is_exact():
    data = synth(n_groups=1000, pos_every=4)  # 25% positive
    s = make_splits(data, spec(a=50, b=60, v=20, t=30, balance=True), seed=0)
    for (name, rows), want in zip(s.items(), (50, 60, 20, 30), strict=True):
        assert len(rows) == want, name
        assert sum(r.label for r in rows) * 2 == want, name
    assert_disjoint(s)


def test_balance_multiple_choice_groups():
    data = synth(n_groups=400, group_size=4, pos_every=4)  # one positive per group
    s = make_splits(data, spec(a=50, b=60, v=20, t=30, balance=True), seed=2)
    for name, rows in s.items():
        pos = sum(r.label for r in rows)
        assert pos * 2 == len(rows), name
        assert pos >= {"weak_train": 25, "transfer": 30, "val": 10, "test": 15}[name]
    assert_disjoint(s)


def test_balance_is_deterministic():
    data = synth(n_groups=1000, pos_every=3)
    sp = spec(balance=True)
    assert ids(make_splits(data, sp, 4)) == ids(make_splits(data, sp, 4))


def test_single_class_split_raises_naming_task_split_and_class():
    data = synth(n_groups=300, test_groups=20)
    data.test = [Example(r.id, r.group, r.text, 1) for r in data.test]
    with pytest.raises(SingleClassSplitError) as e:
        make_splits(data, spec(), seed=0)
    assert "'synth'" in str(e.value) and "'test'" in str(e.value) and "class 1" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_duplicate_text_across_splits_is_caught():
    data = synth(n_groups=300)
    data.pool = [Example(r.id, r.group, "same text", r.label) for r in data.pool]
    with pytest.raises(RuntimeError, match="shares its text"):
        make_splits(data, spec(), seed=0)


@cache
def _real(name: str) -> TaskData:
    return load_task(name, SHARED)


@pytest.mark.parametrize("task", ["sst2", "cosmos_qa", "ethics_virtue", "sciq"])
def test_real_tasks_split_cleanly(task):
    if not SHARED.is_dir():
        pytest.skip("shared/data not present beside the repository")
    data = _real(task)
    for seed in (0, 1):
        for balance in (False, True):
            s = make_splits(data, spec(a=500, b=500, v=100, t=400, balance=balance), seed)
            assert_disjoint(s)
            for name, rows in s.items():
                assert {r.label for r in rows} == {0, 1}, name
                if balance:
                    assert 2 * sum(r.label for r in rows) == len(rows)


def _pool_spec(n_pool: int | None, t: int = 30) -> SplitSpec:
    return SplitSpec(n_weak_train=50, n_transfer=60, n_val=20, n_test=t, n_pool=n_pool)


def test_n_pool_seeds_resplit_one_fixed_subset():
    """With n_pool every seed splits the same fixed rows (so features are computed once for all seeds); seeds
    still give different A/B/V; a test file is cut to one fixed n_test subset, the same T for every seed."""
    data = synth(n_groups=400, test_groups=200)
    used = []
    for seed in range(4):
        s = make_splits(data, _pool_spec(140), seed)
        assert_disjoint(s)
        assert [len(rows) for _, rows in s.items()] == [50, 60, 20, 30]
        used.append(ids(s))
    pools = [set(u["weak_train"]) | set(u["transfer"]) | set(u["val"]) for u in used]
    assert all(len(p) == 130 for p in pools) and len(set().union(*pools)) <= 144  # 140 + one group per split
    assert len({tuple(sorted(u["test"])) for u in used}) == 1
    assert len({tuple(u["weak_train"]) for u in used}) == 4  # seeds differ in who goes where
    # without n_pool the seeds draw different rows from the whole task
    free = [make_splits(data, _pool_spec(None), seed) for seed in range(2)]
    assert set(ids(free[0])["test"]) != set(ids(free[1])["test"])


def test_n_pool_left_out_of_serialisation_when_unset_and_checked_against_sizes():
    assert "n_pool" not in _pool_spec(None).model_dump()
    assert _pool_spec(500).model_dump()["n_pool"] == 500
    with pytest.raises(ValueError, match=r"n_pool \(--n-pool\) = 100 is smaller .* at least 130"):
        make_splits(synth(test_groups=50), _pool_spec(100), seed=0)


def test_pool_blocks_share_no_row_and_block_0_is_the_old_subset():
    """pool_block b takes the fixed shuffle's rows after blocks 0..b-1 (a benchmark's dev and final parts)."""
    for data in (synth(n_groups=400, test_groups=200), synth(n_groups=400)):
        base = make_splits(data, _pool_spec(140), 0)
        zero = make_splits(data, _pool_spec(140).model_copy(update={"pool_block": 0}), 0)
        assert ids(zero) == ids(base)  # the default: keys and rows as before
        one = [make_splits(data, _pool_spec(140).model_copy(update={"pool_block": 1}), seed) for seed in range(2)]
        dev_rows = {i for u in (ids(base), ids(make_splits(data, _pool_spec(140), 1))) for v in u.values() for i in v}
        for s in one:
            assert_disjoint(s)
            assert not dev_rows & {i for v in ids(s).values() for i in v}
        assert len({tuple(sorted(ids(s)["test"])) for s in one}) == 1  # still one fixed T per block
    assert "pool_block" not in _pool_spec(140).model_dump()
    with pytest.raises(ValueError, match="set splits.n_pool too"):
        make_splits(synth(n_groups=400), SplitSpec(n_weak_train=50, n_transfer=60, n_val=20, n_test=30,
                                                   pool_block=1), 0)
    with pytest.raises(ValueError, match="pool_block = 5 needs 6 disjoint blocks"):
        make_splits(synth(n_groups=400, test_groups=60), _pool_spec(140).model_copy(update={"pool_block": 5}), 0)


def test_n_pool_without_a_test_file_fixes_t_first():
    data = synth(n_groups=400)
    s = [make_splits(data, _pool_spec(130), seed) for seed in range(3)]
    assert len({tuple(sorted(r.id for r in x.test)) for x in s}) == 1
    for x in s:
        assert_disjoint(x)
    assert len({r.id for x in s for r in x.weak_train + x.transfer + x.val}) <= 130 + 4
