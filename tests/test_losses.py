"""Losses: confidence-loss schedule and threshold, product loss, and exact gradient accumulation."""

import numpy as np
import pytest
import torch
from torch import nn

from w2sg.config import TrainSpec
from w2sg.train.batching import FeatureRows
from w2sg.train.loop import NonFiniteLossError, train
from w2sg.train.losses import (
    BradleyTerry,
    ConfidenceLoss,
    ConfidenceWindow,
    HardXent,
    Loss,
    ProductLoss,
    SoftXent,
    harden_at_prior,
    linear_warmup,
    reduce_rows,
    soft_cross_entropy,
)


def test_warmup_is_linear_and_continuous():
    # a ramps 0 -> a_max over the first warmup_frac, no jump at the end of warmup (the reference bug)
    assert linear_warmup(0.0, 0.5, 0.2) == 0.0
    assert linear_warmup(0.1, 0.5, 0.2) == pytest.approx(0.25)
    assert linear_warmup(0.2, 0.5, 0.2) == pytest.approx(0.5)
    assert linear_warmup(0.9, 0.5, 0.2) == pytest.approx(0.5)
    eps = 1e-6
    assert abs(linear_warmup(0.2 - eps, 0.5, 0.2) - linear_warmup(0.2 + eps, 0.5, 0.2)) < 1e-4
    assert linear_warmup(0.3, 0.75, 0.0) == 0.75
    loss = ConfidenceLoss()
    assert (loss.a_max, loss.warmup_frac) == (0.5, 0.2)


def test_threshold_matches_weak_positive_rate():
    p = torch.tensor([0.9, 0.2, 0.6, 0.4, 0.8, 0.1, 0.3, 0.7])
    hard = harden_at_prior(p, 0.25)  # top 2 of 8 become positive
    assert hard.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert harden_at_prior(p, 0.5).sum() == 4


def test_confidence_targets_by_hand():
    logits = torch.log(torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6], [0.7, 0.3]]))
    weak = torch.tensor([0.6, 0.6, 0.4, 0.4])  # positive rate 0.5 -> the 2 most positive students harden to 1
    loss = ConfidenceLoss(a_max=0.5, warmup_frac=0.2)
    t = loss.batch_targets(logits, weak, step_frac=0.1)  # a = 0.25
    expected_p1 = 0.75 * weak + 0.25 * torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert torch.allclose(t[:, 1], expected_p1)
    assert torch.allclose(t.sum(-1), torch.ones(4))
    # at step 0 the target is the weak label
    assert torch.allclose(loss.batch_targets(logits, weak, 0.0)[:, 1], weak)


def test_soft_and_hard_xent_and_product():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    weak = torch.tensor([0.7, 0.4])
    ce = SoftXent()(logits, weak, 0.0)
    manual = -(0.3 * torch.log_softmax(logits, -1)[0, 0] + 0.7 * torch.log_softmax(logits, -1)[0, 1]
               + 0.6 * torch.log_softmax(logits, -1)[1, 0] + 0.4 * torch.log_softmax(logits, -1)[1, 1]) / 2
    assert ce.item() == pytest.approx(manual.item(), rel=1e-6)
    assert torch.equal(HardXent().batch_targets(logits, weak, 0)[:, 1], torch.tensor([1.0, 0.0]))
    t = ProductLoss().batch_targets(logits, weak, 0)
    ps = torch.softmax(logits, -1)
    w = torch.stack([1 - weak, weak], -1)
    assert torch.allclose(t, ps * w / (ps * w).sum(-1, keepdim=True))


def _linear_setup(seed=0, n=64, d=5):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    weak = torch.sigmoid(x[:, 0] + 0.3 * torch.randn(n, generator=g))
    return x, weak


@pytest.mark.parametrize("loss", [ConfidenceLoss(a_max=0.5, warmup_frac=0.2), SoftXent(), ProductLoss(),
                                  ConfidenceWindow(window=0.3, warmup_frac=0.2)])
def test_micro_batched_equals_full_batch(loss):
    """The logical batch's loss (and its threshold) is the same with gradient accumulation."""
    x, weak = _linear_setup()
    results = []
    for micro in (None, 8, 5):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 2))
        nn.init.normal_(model[0].weight, std=0.5)
        spec = TrainSpec(mode="frozen", epochs=3, lr=0.05, batch_size=32, micro_batch_size=micro,
                         group_by_length=False)
        r = train(_Wrap(model), FeatureRows(x), weak, loss, spec, seed=1, device=torch.device("cpu"))
        results.append((r.losses, model[0].weight.detach().clone()))
    for losses, w in results[1:]:
        np.testing.assert_allclose(losses, results[0][0], rtol=1e-5, atol=1e-6)
        assert torch.allclose(w, results[0][1], atol=1e-5)


def test_confidence_loss_differs_under_naive_micro_batching():
    """Sanity: thresholding per micro-batch (what HF-Trainer micro-batching does) gives other targets."""
    x, weak = _linear_setup(n=32)
    logits = x[:, :2] * 3
    loss = ConfidenceLoss(a_max=0.5, warmup_frac=0.0)
    full = loss.batch_targets(logits, weak, 1.0)
    parts = torch.cat([loss.batch_targets(logits[i:i + 4], weak[i:i + 4], 1.0) for i in range(0, 32, 4)])
    assert not torch.allclose(full, parts)


def test_nan_loss_stops_with_message():
    x, weak = _linear_setup()
    x[3, 0] = float("nan")
    model = _Wrap(nn.Sequential(nn.Linear(5, 2)))
    with pytest.raises(NonFiniteLossError, match="learning rate"):
        train(model, FeatureRows(x), weak, SoftXent(), TrainSpec(epochs=1), seed=0, device=torch.device("cpu"))


def test_soft_cross_entropy_reductions():
    logits = torch.zeros(3, 2)
    t = torch.full((3, 2), 0.5)
    assert soft_cross_entropy(logits, t, "sum").item() == pytest.approx(3 * np.log(2), rel=1e-6)
    assert soft_cross_entropy(logits, t, "none").shape == (3,)


class _Wrap(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, features):
        return self.m(features)


class _Focal(Loss):
    """A loss the target-only interface could not express: focal loss (a per-row loss of its own)."""

    def rows(self, logits, targets, step_frac):
        logp = torch.log_softmax(logits.float(), -1)
        return -(targets * (1 - logp.exp()).pow(2) * logp).sum(-1)


def test_rows_default_to_soft_cross_entropy_and_the_batch_loss_is_their_mean():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0], [0.5, 0.5]])
    weak = torch.tensor([0.7, 0.4, 0.9])
    targets, weights = SoftXent().prepare(logits, weak, 0.0)
    assert weights is None and torch.equal(targets[:, 1], weak)
    rows = SoftXent().rows(logits, targets, 0.0)
    assert rows.shape == (3,)
    torch.testing.assert_close(rows, soft_cross_entropy(logits, targets, "none"))
    torch.testing.assert_close(SoftXent()(logits, weak, 0.0), rows.mean())
    assert SoftXent().soft_ce_rows and ConfidenceWindow().soft_ce_rows and not _Focal().soft_ce_rows


def test_bradley_terry_is_soft_xent_on_reward_logits():
    r_a, r_b = torch.tensor([1.5, -0.2, 0.3]), torch.tensor([0.5, 0.7, 0.3])
    t = torch.tensor([1.0, 0.3, 0.5])  # P(a > b)
    logits = torch.stack([r_b, r_a], -1)
    bt = -(t * torch.nn.functional.logsigmoid(r_a - r_b) + (1 - t) * torch.nn.functional.logsigmoid(r_b - r_a))
    torch.testing.assert_close(BradleyTerry()(logits, t, 0.0), bt.mean())
    torch.testing.assert_close(BradleyTerry()(logits, t, 0.0), SoftXent()(logits, t, 0.0))


def test_confidence_window_drops_rows_near_one_half_after_warmup():
    p1 = torch.tensor([0.5, 0.55, 0.62, 0.3, 0.95, 0.45])
    logits = torch.stack([torch.zeros(6), torch.log(p1 / (1 - p1))], -1)
    weak = torch.full((6,), 0.8)
    loss = ConfidenceWindow(window=0.1, warmup_frac=0.2)
    assert loss.batch_weights(logits, weak, 0.0).tolist() == [1.0] * 6  # a zero-initialised head still learns
    assert loss.width(0.1) == pytest.approx(0.05)
    assert loss.batch_weights(logits, weak, 1.0).tolist() == [0, 0, 1, 1, 1, 0]  # |p - 0.5| < 0.1 dropped
    # dropped rows get no gradient and still count in N
    logits = logits.clone().requires_grad_(True)
    value = loss(logits, weak, 1.0)
    value.backward()
    assert (logits.grad[[0, 1, 5]] == 0).all() and (logits.grad[[2, 3, 4]] != 0).all()
    ce = soft_cross_entropy(logits.detach(), torch.stack([1 - weak, weak], -1), "none")
    assert value.item() == pytest.approx(ce[[2, 3, 4]].sum().item() / 6, rel=1e-6)


@pytest.mark.parametrize("loss", [SoftXent(), ConfidenceLoss(a_max=0.5, warmup_frac=0.0),
                                  ConfidenceWindow(window=0.2, warmup_frac=0.0), _Focal()])
def test_row_losses_summed_over_micro_batches_equal_the_full_batch_loss(loss):
    """sum over micro-batches of sum(weight * row loss) / N == the logical batch's loss, value and gradient,
    with the batch stage computed once over the whole logical batch."""
    x, weak = _linear_setup(n=30)
    head = nn.Linear(5, 2)
    nn.init.normal_(head.weight, std=0.8)
    full = loss(head(x), weak, 0.7)
    full_grad = torch.autograd.grad(full, head.weight)[0]
    with torch.no_grad():
        targets, weights = loss.prepare(head(x), weak, 0.7)
    total, grad = 0.0, torch.zeros_like(head.weight)
    for part in (slice(0, 7), slice(7, 19), slice(19, 30)):
        w = None if weights is None else weights[part]
        part_loss = reduce_rows(loss, head(x[part]), targets[part], w, 0.7, n=30)
        grad += torch.autograd.grad(part_loss, head.weight)[0]
        total += part_loss.item()
    assert total == pytest.approx(full.item(), rel=1e-6)
    torch.testing.assert_close(grad, full_grad, rtol=1e-5, atol=1e-7)


def test_a_loss_with_its_own_rows_trains_in_the_loop():
    x, weak = _linear_setup()
    spec = TrainSpec(mode="frozen", epochs=20, lr=0.05, batch_size=16, group_by_length=False)
    model = _Wrap(nn.Sequential(nn.Linear(5, 2)))
    result = train(model, FeatureRows(x), weak, _Focal(), spec, seed=0, device=torch.device("cpu"))
    assert result.losses[-1] < result.losses[0]
