import math

import pytest
import torch

from ganlearn.losses import (conditional_entropy, consistency_loss, discriminator_loss, feature_matching_loss,
                             generator_loss, kplus1_unlabelled_loss, low_density_loss, manifold_loss, real_logit,
                             supervised_loss)


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
    assert torch.allclose(kplus1_unlabelled_loss(logits_unl, logits_fake),
                          explicit_kplus1_loss(logits_unl, logits_fake), atol=1e-12)


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


def test_conditional_entropy_hand_computed():
    uniform, certain = torch.zeros(2, 4), torch.tensor([[1000.0, 0.0, 0.0, 0.0]])
    assert conditional_entropy(uniform).item() == pytest.approx(math.log(4))
    assert conditional_entropy(certain).item() == pytest.approx(0.0, abs=1e-6)  # no NaN from 0 log 0
    p = torch.tensor([0.5, 0.25, 0.25])
    assert conditional_entropy(p.log()[None]).item() == pytest.approx(1.5 * math.log(2))


def test_manifold_loss_hand_computed():
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [0.0, 3.0]])  # squared changes 1 + 4 and 9: mean 7
    assert manifold_loss(a, b).item() == pytest.approx(7.0)
    assert manifold_loss(a, a).item() == 0.0


def test_low_density_loss_is_the_mean_excess_of_the_images_above_the_threshold():
    log_density = torch.tensor([-3.0, -1.0, 0.0, 2.0], requires_grad=True)
    loss = low_density_loss(log_density, torch.tensor(-0.5))  # excesses 0, 0, 0.5, 2.5 over 2 images
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    assert log_density.grad.tolist() == [0.0, 0.0, 0.5, 0.5]  # images below the threshold feel nothing
    assert low_density_loss(torch.tensor([-3.0, -1.0]), torch.tensor(0.0)).item() == 0.0  # none above: 0, no NaN


def test_consistency_loss_hand_computed_and_no_gradient_into_the_target():
    logits = torch.tensor([[0.0, 0.0], [0.0, 0.0]], requires_grad=True)  # softmax (0.5, 0.5) twice
    target = torch.tensor([[100.0, 0.0], [0.0, 0.0]], requires_grad=True)  # (1, 0) and (0.5, 0.5)
    loss = consistency_loss(logits, target)
    assert loss.item() == pytest.approx((0.25 + 0.25 + 0) / 2)
    loss.backward()
    assert target.grad is None and logits.grad.abs().sum() > 0
    assert consistency_loss(target, target).item() == 0.0
