"""The Improved-GAN techniques (Salimans et al. 2016, "Improved Techniques for Training GANs") as
layers and penalties. Each is off by default; the config turns it on. Feature matching and
one-sided label smoothing are losses (losses.py); the rest live here.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class MinibatchDiscrimination(nn.Module):
    """Section 3.2: lets D look at a whole batch, so a collapsed generator is easy to spot.

    M_i = h_i T reshaped to (n_kernels, kernel_dim); c_b(i, j) = exp(-||M_i,b - M_j,b||_1);
    o(h_i)_b = sum_{j != i} c_b(i, j). The layer returns [h, o]: (B, F) -> (B, F + n_kernels).
    Its output for one example depends on the rest of the batch, so a D that has it must see
    real and generated batches in separate forward passes (`batch_dependent` below).
    """

    def __init__(self, n_in: int, n_kernels: int = 100, kernel_dim: int = 5):
        super().__init__()
        self.n_kernels, self.kernel_dim = n_kernels, kernel_dim
        self.T = nn.Parameter(0.05 * torch.randn(n_in, n_kernels * kernel_dim))
        self.bias = nn.Parameter(torch.zeros(n_kernels))

    def forward(self, h):  # (B, F) -> (B, F + n_kernels)
        m = (h @ self.T).view(len(h), self.n_kernels, self.kernel_dim)  # (B, n_kernels, kernel_dim)
        l1 = (m.unsqueeze(1) - m.unsqueeze(0)).abs().sum(3)  # (B, B, n_kernels)
        closeness = torch.exp(-l1).sum(1) - 1  # (B, n_kernels); exp(0) = 1 is the example itself
        return torch.cat([h, closeness + self.bias], dim=1)


class VirtualBatchNorm(nn.Module):
    """Section 3.5: normalise each example by the statistics of a fixed reference batch plus itself.

    The generator runs the reference batch (the first `n_ref` rows of its input) in front of every
    batch, so the reference statistics follow the current weights. Reference rows are normalised
    by the reference statistics alone, every other row by those plus itself, so no example's output
    depends on the other examples of its batch. Works on (B, C) and (B, C, H, W) inputs.
    """

    def __init__(self, n_features: int, n_ref: int, eps: float = 1e-5):
        super().__init__()
        self.n_ref, self.eps = n_ref, eps
        self.weight = nn.Parameter(torch.ones(n_features))
        self.bias = nn.Parameter(torch.zeros(n_features))

    def forward(self, x):  # (n_ref + B, C, ...) -> same shape
        if len(x) <= self.n_ref:
            raise ValueError(f"virtual batch norm needs the {self.n_ref} reference rows first, got {len(x)} rows")
        dims = [0] + list(range(2, x.dim()))  # statistics per channel
        ref, new = x[: self.n_ref], x[self.n_ref :]
        ref_mean, ref_sq = ref.mean(dims, keepdim=True), ref.square().mean(dims, keepdim=True)
        ref_out = (ref - ref_mean) * torch.rsqrt((ref_sq - ref_mean.square()).clamp_min(0) + self.eps)
        own = list(range(2, x.dim()))  # each example's own statistics (itself, for (B, C) inputs)
        new_mean = new.mean(own, keepdim=True) if own else new
        new_sq = new.square().mean(own, keepdim=True) if own else new.square()
        w_new = 1 / (self.n_ref + 1)  # the example counts as one more member of the reference batch
        mean = w_new * new_mean + (1 - w_new) * ref_mean
        var = (w_new * new_sq + (1 - w_new) * ref_sq - mean.square()).clamp_min(0)
        new_out = (new - mean) * torch.rsqrt(var + self.eps)
        shape = [1, -1] + [1] * (x.dim() - 2)
        return torch.cat([ref_out, new_out]) * self.weight.view(shape) + self.bias.view(shape)


class HistoricalAverage(nn.Module):
    """Section 3.3: a penalty ||theta - mean of past theta||^2 that damps oscillations.

    Holds the running mean of a network's parameters as buffers (so it is checkpointed with
    the run); `penalty(net)` is zero at the running mean; `update(net)` folds in the current values.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self.means = nn.ParameterList([nn.Parameter(p.detach().clone(), requires_grad=False) for p in net.parameters()])

    def penalty(self, net: nn.Module) -> torch.Tensor:
        return sum((p - m).square().sum() for p, m in zip(net.parameters(), self.means))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        self.count += 1
        weight = 1 / (self.count.item() + 1)  # the mean over the initial values and every update
        for p, m in zip(net.parameters(), self.means):
            m.lerp_(p, weight)


def batch_dependent(net: nn.Module) -> bool:
    """Whether `net`'s output for one example depends on the rest of its batch in training mode."""
    return any(isinstance(m, (MinibatchDiscrimination, nn.modules.batchnorm._BatchNorm)) for m in net.modules())
