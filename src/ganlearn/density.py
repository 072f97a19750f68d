"""A density model of real images for Bad GAN's low-density penalty (Dai et al. 2017).

Bad GAN penalises generated images that a pretrained PixelCNN finds more likely than most real
images, so that G fills the low-density gaps between classes, where D's boundaries should go. A
PixelCNN costs far more than our whole training step on a CPU, so this stands in for it: the
distance to the k nearest of a bank of real images in a PCA subspace, a nonparametric density
(log p = -dim * log distance + const). A Gaussian (mixture) model would not do: it rates the blend of
two digits as more likely than either, and the penalty would then push G out of the gaps instead.
The PCA is an exact eigendecomposition of the pixel covariance: quick for MNIST-sized images, slow
(minutes) for large colour ones.
"""
from __future__ import annotations

import torch

from .errors import ConfigError

PCA_DIM = 50  # the subspace the distances are measured in
NEIGHBOURS = 5  # k: the distance to a point is the root mean square over its k nearest bank images
BANK_SIZE = 10_000  # real images held as the density's sample
HELD_OUT = 2_000  # real images outside the bank that set the threshold


class NeighbourDensity(torch.nn.Module):
    """`log_density(x)`: -log of the k-nearest-neighbour distance of images x (B, C, H, W) to a bank
    of real images, in units of log p / PCA_DIM; `threshold`: its `quantile` over held-out real
    images, above which the low-density penalty acts (Bad GAN: the 10th percentile)."""

    def __init__(self, images: torch.Tensor, quantile: float = 0.1, seed: int = 0):
        super().__init__()
        n_bank = min(BANK_SIZE, len(images) - min(HELD_OUT, len(images) // 5))
        if n_bank <= NEIGHBOURS:
            raise ConfigError(f"train.low_density_weight needs more than {NEIGHBOURS + 1} training images, "
                              f"got {len(images)}")
        # its own generator: building the model draws nothing from training's random stream
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed)).to(images.device)
        chosen = images[order[:n_bank + HELD_OUT]].flatten(1).double()  # (n_bank + held out, C*H*W): only these
        bank, held_out = chosen[:n_bank], chosen[n_bank:]
        mean = bank.mean(0)
        _, vectors = torch.linalg.eigh(torch.cov(bank.T))  # eigenvalues in ascending order
        dim = min(PCA_DIM, bank.shape[1])
        self.register_buffer("mean", mean.float())
        self.register_buffer("axes", vectors[:, -dim:].flip(1).float())  # (C*H*W, dim), largest first
        self.register_buffer("bank", self._project(bank.float()))  # (n_bank, dim)
        self.register_buffer("threshold", self.log_density(held_out.float()).quantile(quantile))

    def _project(self, flat: torch.Tensor) -> torch.Tensor:
        return (flat - self.mean) @ self.axes

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) images -> (B,) log-density up to a constant, in fp32 whatever the autocast."""
        with torch.autocast(x.device.type, enabled=False):
            z = self._project(x.flatten(1).float())  # (B, dim)
            sq_dist = torch.cdist(z, self.bank).square()  # (B, n_bank)
            nearest = sq_dist.topk(NEIGHBOURS, dim=1, largest=False).values  # (B, k)
            return -0.5 * nearest.mean(1).clamp(min=1e-12).log()
