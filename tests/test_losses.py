import math

import pytest
import torch

from ganlearn.losses import (
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
    kplus1_unlabelled_loss,
    real_logit,
    supervised_loss,
)


def explicit_kplus1_loss(logits_unl, logits_fake):
    """The K+1 loss written out with an explicit (K+1)-th logit fixed at 0."""

    def probs(logits):
        return torch.softmax(torch.cat([logits, torch.zeros(len(logits), 1, dtype=logits.dtype)], 1), 1)

    p_fake_unl, p_fake_gen = probs(logits_unl)[:, -1], probs(logits_fake)[:, -1]
    return -torch.log(1 - p_fake_unl).mean() - torch.log(p_fake_gen).mean()


def test_kplus1_loss_equals_explicit_softmax_with_zero_fake_logit():
    gen = torch.Generator().manual_seed(0)
    logits_unl = torch.randn(7, 10, generator=gen, dtype=torch.float64) * 3
    logits_fake = torch.randn(5, 10, generator=gen, dtype=torch.float64) * 3
    assert torch.allclose(
        kplus1_unlabelled_loss(logits_unl, logits_fake), explicit_kplus1_loss(logits_unl, logits_fake), atol=1e-12
    )


def test_kplus1_loss_hand_computed():
    # two zero logits: Z = 2, p(real) = 2/3, p(fake) = 1/3
    zero = torch.zeros(1, 2)
    assert kplus1_unlabelled_loss(zero, zero).item() == pytest.approx(-math.log(2 / 3) - math.log(1 / 3))
    assert real_logit(zero).item() == pytest.approx(math.log(2))


def test_kplus1_loss_is_stable_for_extreme_logits():
    big = torch.full((3, 10), 1000.0, requires_grad=True)
    loss = kplus1_unlabelled_loss(big, -big)  # confident and right: loss near 0
    loss.backward()
    assert torch.isfinite(loss) and loss.item() < 1e-6
    assert torch.isfinite(big.grad).all()
    # confident and wrong: (1000 - log 10) + (1000 + log 10)
    wrong = kplus1_unlabelled_loss(-big.detach(), big.detach())
    assert wrong.item() == pytest.approx(2000, rel=1e-5)


def test_supervised_loss_hand_computed():
    logits = torch.tensor([[math.log(3.0), 0.0]])
    assert supervised_loss(logits, torch.tensor([0])).item() == pytest.approx(-math.log(3 / 4))


def test_one_sided_label_smoothing_changes_only_the_real_term():
    r, f = torch.tensor([2.0]), torch.tensor([-1.0])
    sp = torch.nn.functional.softplus
    expected = 0.9 * sp(-r) + 0.1 * sp(r) + sp(f)
    assert discriminator_loss(r, f, real_label=0.9).item() == pytest.approx(expected.item())
    assert discriminator_loss(r, f).item() == pytest.approx((sp(-r) + sp(f)).item())


def test_generator_loss_hand_computed():
    assert generator_loss(torch.zeros(4)).item() == pytest.approx(math.log(2))


def test_feature_matching_hand_computed():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [0.0, 2.0]])  # mean (0, 1)
    assert feature_matching_loss(real, fake).item() == pytest.approx(4.0)
    assert feature_matching_loss(real, real).item() == 0.0
