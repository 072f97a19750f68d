"""The image GAN pairs: MLP and DCGAN generators and discriminators.

Every discriminator exposes `features(x) -> (B, F)` and `head(h) -> (B, K)` logits, so feature
matching, the analysis commands and feature-based scores all use the same representation.
Every generator maps z of shape (B, z_dim), drawn by `sample_z`, to images (B, C, H, W) in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from .techniques import MinibatchDiscrimination, VirtualBatchNorm


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


class ShiftBatchNorm1d(nn.BatchNorm1d):
    """Batch norm with a learned shift but no learned scale, as in the reference generator."""

    def __init__(self, n: int):
        super().__init__(n, affine=False)
        self.shift = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        return super().forward(x) + self.shift


class Generator(nn.Module):
    """Base class: z ~ U(0, 1)^z_dim as in the reference code; subclasses build `self.net`.

    With virtual batch norm (`vbn_ref` > 0) a reference batch of noise is drawn once, kept as a
    buffer (so it is checkpointed), and run in front of every batch.
    """

    z_dim: int
    net: nn.Module

    def _set_reference(self, n_ref: int) -> None:
        self.register_buffer("ref_z", torch.rand(n_ref, self.z_dim) if n_ref else None)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.rand(n, self.z_dim, device=device, generator=generator)  # (B, z_dim)

    def forward(self, z):  # (B, z_dim) -> (B, C, H, W)
        if self.ref_z is None:
            return self.net(z)
        return self.net(torch.cat([self.ref_z, z]))[len(self.ref_z) :]


def _g_norm(n: int, vbn_ref: int, shift_only: bool = False) -> nn.Module:
    """The generator's normalisation: virtual batch norm when `vbn_ref` > 0, else batch norm."""
    if vbn_ref:
        return VirtualBatchNorm(n, vbn_ref)
    return ShiftBatchNorm1d(n) if shift_only else nn.BatchNorm1d(n)


class MLPGenerator(Generator):
    """z -> dense + batch norm + softplus layers -> weight-normalised dense -> sigmoid (improved-gan MNIST G)."""

    def __init__(self, image_shape, z_dim: int = 100, hidden=(500, 500), vbn_ref: int = 0):
        super().__init__()
        self.z_dim = z_dim
        self._set_reference(vbn_ref)
        layers, n_in = [], z_dim
        for width in hidden:
            layers += [nn.Linear(n_in, width, bias=False), _g_norm(width, vbn_ref, shift_only=True), nn.Softplus()]
            n_in = width
        layers += [
            WNLinear(n_in, math.prod(image_shape), train_scale=True),
            nn.Sigmoid(),
            nn.Unflatten(1, tuple(image_shape)),
        ]
        self.net = nn.Sequential(*layers)


class MLPDiscriminator(nn.Module):
    """Noise 0.3, then weight-normalised dense ReLU layers each preceded by noise 0.5 (improved-gan MNIST D)."""

    def __init__(
        self,
        image_shape,
        n_classes: int,
        hidden=(1000, 500, 250, 250, 250),
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
        minibatch_kernels: int = 0,
    ):
        super().__init__()
        layers, n_in = [nn.Flatten(), GaussianNoise(input_noise)], math.prod(image_shape)
        for i, width in enumerate(hidden):
            layers += ([GaussianNoise(hidden_noise)] if i else []) + [WNLinear(n_in, width), nn.ReLU()]
            n_in = width
        self.body = nn.Sequential(*layers)
        mbd = [MinibatchDiscrimination(n_in, minibatch_kernels)] if minibatch_kernels else []
        self.classifier = nn.Sequential(
            *mbd, GaussianNoise(hidden_noise), WNLinear(n_in + minibatch_kernels, n_classes, train_scale=True)
        )

    def features(self, x):  # (B, C, H, W) -> (B, F): the last hidden layer
        return self.body(x)

    def head(self, h):  # (B, F) -> (B, K) class logits; the fake logit is fixed at 0
        return self.classifier(h)

    def forward(self, x):
        return self.head(self.features(x))


def _doublings(image_shape) -> tuple[int, int]:
    """How often a square side halves exactly before reaching 4 or an odd size: 28 -> (2, 7), 64 -> (4, 4)."""
    _, h, w = image_shape
    if h != w:
        raise ConfigError(f"the dcgan models need square images, got {h}x{w}")
    n, side = 0, h
    while side % 2 == 0 and side > 4:
        side, n = side // 2, n + 1
    if n == 0:
        raise ConfigError(f"the dcgan models need an image side divisible by 2 and above 4, got {h}")
    return n, side


class DCGANGenerator(Generator):
    """z -> dense to (C0, s, s) -> stride-2 transposed convolutions with batch norm -> sigmoid."""

    def __init__(self, image_shape, z_dim: int = 100, width: int = 64, vbn_ref: int = 0):
        super().__init__()
        self.z_dim = z_dim
        self._set_reference(vbn_ref)
        n, side = _doublings(image_shape)
        ch = width * 2 ** (n - 1)
        layers = [
            nn.Linear(z_dim, ch * side * side, bias=False),
            _g_norm(ch * side * side, vbn_ref),
            nn.ReLU(),
            nn.Unflatten(1, (ch, side, side)),
        ]
        for _ in range(n - 1):
            norm = VirtualBatchNorm(ch // 2, vbn_ref) if vbn_ref else nn.BatchNorm2d(ch // 2)
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), norm, nn.ReLU()]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, image_shape[0], 4, 2, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)


class DCGANDiscriminator(nn.Module):
    """Stride-2 convolutions with leaky ReLU (batch norm after the first); features are the flattened maps."""

    def __init__(
        self, image_shape, n_classes: int, width: int = 64, input_noise: float = 0.0, minibatch_kernels: int = 0
    ):
        super().__init__()
        n, side = _doublings(image_shape)
        layers = [GaussianNoise(input_noise), nn.Conv2d(image_shape[0], width, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = width
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2)]
            ch *= 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        linear = nn.Linear(ch * side * side + minibatch_kernels, n_classes)
        self.classifier = (
            nn.Sequential(MinibatchDiscrimination(ch * side * side, minibatch_kernels), linear)
            if minibatch_kernels
            else linear
        )

    def features(self, x):  # (B, C, H, W) -> (B, C' * s * s)
        return self.body(x)

    def head(self, h):  # (B, F) -> (B, K)
        return self.classifier(h)

    def forward(self, x):
        return self.head(self.features(x))
