import pytest
import torch

from ganlearn.density import NeighbourDensity
from ganlearn.errors import ConfigError


def two_clusters(n=600, seed=0):
    """Images (n, 1, 8, 8) near one of two opposite prototypes: a left and a right half lit."""
    gen = torch.Generator().manual_seed(seed)
    left = torch.zeros(1, 8, 8)
    left[..., :4] = 1.0
    prototypes = torch.stack([left, 1 - left])  # (2, 1, 8, 8)
    which = torch.arange(n) % 2
    return (prototypes[which] + 0.05 * torch.randn(n, 1, 8, 8, generator=gen)).clamp(0, 1), prototypes


def test_real_images_are_denser_than_a_blend_of_two_classes():
    """What the low-density term needs: the gap between classes is rated less likely than either class
    (a Gaussian model rates the blend higher), so pushing G off dense regions sends it into the gaps."""
    images, prototypes = two_clusters()
    density = NeighbourDensity(images, quantile=0.1)
    fresh, _ = two_clusters(200, seed=1)
    blend = 0.5 * prototypes.sum(0, keepdim=True)  # (1, 1, 8, 8)
    assert density.log_density(blend).item() < density.log_density(fresh).min().item()
    # the threshold is the quantile over real images outside the bank: about 90 % are above it
    assert 0.8 < (density.log_density(fresh) > density.threshold).float().mean().item() < 0.97


def test_building_the_density_draws_nothing_from_the_global_stream_and_is_repeatable():
    images, _ = two_clusters()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first, second = NeighbourDensity(images, seed=2), NeighbourDensity(images, seed=2)
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(first.threshold, second.threshold) and torch.equal(first.bank, second.bank)


def test_log_density_is_fp32_and_differentiable_under_bf16_autocast():
    images, _ = two_clusters()
    density = NeighbourDensity(images)
    x = torch.rand(4, 1, 8, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        log_density = density.log_density(x)
    assert log_density.dtype == torch.float32
    log_density.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_too_few_images_is_a_config_error():
    with pytest.raises(ConfigError, match="low_density_weight"):
        NeighbourDensity(torch.rand(5, 1, 8, 8))
