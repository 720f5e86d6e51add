"""filter_confident keeps the most confident weak labels; rows of equal confidence (every row, with hard labels)
are kept at random, seeded by the experiment's seed, never the first rows in file order."""

import numpy as np

from w2sg.methods.filter_confident import confident_rows


def test_hard_labels_keep_a_seeded_random_half_not_the_first_rows():
    p = np.tile([0.0, 1.0], 100)  # 200 hard labels: every |p - 0.5| ties
    kept = confident_rows(p, 0.5, seed=3)
    assert len(kept) == 100 and len(set(kept.tolist())) == 100 and (np.diff(kept) > 0).all()
    assert kept.tolist() != list(range(100))  # not file order
    assert 30 <= (kept >= 100).sum() <= 70  # both halves of the file are drawn from
    np.testing.assert_array_equal(confident_rows(p, 0.5, seed=3), kept)  # seeded
    others = [set(confident_rows(p, 0.5, seed=s).tolist()) for s in range(4, 8)]
    assert all(o != set(kept.tolist()) for o in others)  # another seed, another subset
    # over many seeds every row is kept about half the time
    counts = np.zeros(200)
    for s in range(200):
        counts[confident_rows(p, 0.5, seed=s)] += 1
    assert 0.35 < counts.min() / 200 and counts.max() / 200 < 0.65


def test_confidence_decides_first_and_ties_only_within_a_level():
    p = np.array([0.6] * 10 + [0.95] * 10 + [0.05] * 5 + [0.5] * 5)  # levels 0.1, 0.45, 0.45, 0
    kept = confident_rows(p, 0.6, seed=0)  # ceil(0.6 * 30) = 18: the 15 at 0.45 and 3 of the 10 at 0.1
    assert set(range(10, 25)) <= set(kept.tolist()) and len(kept) == 18
    low = [i for i in kept if i < 10]
    assert len(low) == 3 and not {25, 26, 27, 28, 29} & set(kept.tolist())
    assert {tuple(i for i in confident_rows(p, 0.6, seed=s) if i < 10) for s in range(10)} != {tuple(low)}
    # distinct confidences: the same rows for every seed (the most confident, in file order)
    soft = np.array([0.9, 0.45, 0.2, 0.7, 0.99, 0.55])
    for s in range(5):
        assert confident_rows(soft, 0.5, seed=s).tolist() == [0, 2, 4]
