"""Layers of the improved-gan discriminators: Gaussian noise and weight-normalised dense and
convolutional layers with the data-dependent initialisation of Salimans & Kingma (2016)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class GaussianNoise(nn.Module):
    """Adds N(0, sigma^2) noise in training mode only (a regulariser of the reference D)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def forward(self, x):
        if not self.training or self.sigma == 0:
            return x
        return torch.empty_like(x).normal_(0, self.sigma).add_(x)  # two passes over x, not three


class _RowScale(torch.autograd.Function):
    """g / ||v_i|| per row i of v, with a one-pass backward.

    Autograd's own norm backward makes three passes over v (divide, multiply, mask); here
    d/dv_i = -g_i v_i / ||v_i||^3 and d/dg_i = 1 / ||v_i|| need one.
    """

    @staticmethod
    def forward(ctx, v, g):  # (n_out, n_in), (n_out,) -> (n_out,)
        inv_norm = v.norm(dim=1).reciprocal()
        ctx.save_for_backward(v, g, inv_norm)
        return g * inv_norm

    @staticmethod
    def backward(ctx, grad):  # (n_out,)
        v, g, inv_norm = ctx.saved_tensors
        grad_v = v * (-grad * g * inv_norm**3).unsqueeze(1) if ctx.needs_input_grad[0] else None
        grad_g = grad * inv_norm if ctx.needs_input_grad[1] else None
        return grad_v, grad_g


class WNLinear(nn.Module):
    """Weight-normalised dense layer: y = x (g * v / ||v||)^T + b (Salimans & Kingma 2016).

    As in the reference MNIST code, the scale g is trained only where `train_scale` is set;
    elsewhere it is fixed after the data-dependent initialisation (`init_`).
    """

    def __init__(self, n_in: int, n_out: int, train_scale: bool = False):
        super().__init__()
        self.v = nn.Parameter(0.1 * torch.randn(n_out, n_in))
        self.b = nn.Parameter(torch.zeros(n_out))
        if train_scale:
            self.g = nn.Parameter(torch.ones(n_out))
        else:
            self.register_buffer("g", torch.ones(n_out))

    def forward(self, x):  # (B, n_in) -> (B, n_out)
        # scale the outputs, not the weight matrix: the same function, but the (B, n_out)
        # multiply (and its backward) is cheaper than the (n_out, n_in) one, as in the reference
        return torch.addcmul(self.b, F.linear(x, self.v), _RowScale.apply(self.v, self.g))

    @torch.no_grad()
    def init_(self, x):
        """Set g and b so the pre-activations on `x` have zero mean and unit variance per unit."""
        t = F.linear(x, self.v / self.v.norm(dim=1, keepdim=True))
        mean, std = t.mean(0), t.std(0, unbiased=False).clamp_min(1e-3)  # a constant unit must not get a huge scale
        self.g.copy_(1 / std)
        self.b.copy_(-mean / std)


class WNConv2d(nn.Module):
    """Weight-normalised convolution: each output channel's kernel v_c scaled to norm g_c, plus a bias.

    As in WNLinear the scale multiplies the (B, C, H, W) output rather than the kernels, and g is
    fixed after `init_` (the reference trains it only in the dense head). A 1x1 kernel is a NiN layer.
    """

    def __init__(self, n_in: int, n_out: int, kernel: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.v = nn.Parameter(0.05 * torch.randn(n_out, n_in, kernel, kernel))
        self.b = nn.Parameter(torch.zeros(n_out))
        self.register_buffer("g", torch.ones(n_out))
        self.stride, self.padding = stride, padding

    def forward(self, x):  # (B, n_in, H, W) -> (B, n_out, H', W')
        scale = _RowScale.apply(self.v.flatten(1), self.g)  # (n_out,)
        out = F.conv2d(x, self.v, None, self.stride, self.padding)
        return torch.addcmul(self.b[:, None, None], out, scale[:, None, None])

    @torch.no_grad()
    def init_(self, x):
        """Set g and b so the outputs on `x` have zero mean and unit variance per channel."""
        t = F.conv2d(x, self.v / self.v.flatten(1).norm(dim=1)[:, None, None, None], None, self.stride, self.padding)
        mean, std = t.mean((0, 2, 3)), t.std((0, 2, 3), unbiased=False).clamp_min(1e-3)
        self.g.copy_(1 / std)
        self.b.copy_(-mean / std)


@torch.no_grad()
def data_dependent_init(net: nn.Module, x: torch.Tensor) -> None:
    """Run `net` on `x` once, initialising each layer with an `init_` method on its actual input."""
    hooks = [
        m.register_forward_pre_hook(lambda mod, args: mod.init_(args[0])) for m in net.modules() if hasattr(m, "init_")
    ]
    if not hooks:  # nothing to initialise (and `x` need not be this net's input)
        return
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
