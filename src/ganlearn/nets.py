"""Generators and discriminators.

Every discriminator exposes `features(x) -> (B, F)` and `head(h) -> (B, K)` logits, so feature
matching, the unsupervised probes and feature-based scores all use the same representation.
Every generator maps z of shape (B, z_dim), drawn by `sample_z`, to images (B, C, H, W) in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn as nn

from .errors import ConfigError
from .layers import GaussianNoise, WNConv2d, WNLinear
from .segnets import build_unet
from .techniques import MinibatchDiscrimination, VirtualBatchNorm


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


class ConvDiscriminator(nn.Module):
    """The K+1 discriminator of improved-gan's CIFAR-10 model, sized by `width` and `depth`.

    Gaussian noise on the input; stages of `depth` weight-normalised 3x3 convolutions with leaky ReLU,
    the last of stride 2, each stage followed by dropout, halving the side until it is at most 8
    (28 -> 14 -> 7, 32 -> 16 -> 8, 64 -> 32 -> 16 -> 8); a valid 3x3 convolution and two 1x1 (NiN)
    layers; global mean pooling (the features); a weight-normalised dense head. The first stage has
    `width` channels, the rest twice that (the reference: 96 and 192, depth 3, dropout 0.5).
    """

    def __init__(
        self, image_shape, n_classes: int, width: int = 96, depth: int = 3, input_noise: float = 0.2, dropout=0.5
    ):
        super().__init__()
        channels, side = image_shape[0], image_shape[1]
        if image_shape[1] != image_shape[2] or side < 5:
            raise ConfigError(f"the conv model needs square images of side 5 or more, got {image_shape[1:]}")
        layers, n_in, stage = [GaussianNoise(input_noise)], channels, 0
        while stage == 0 or side > 8:
            n_out = width if stage == 0 else 2 * width
            for i in range(depth):
                stride = 2 if i == depth - 1 else 1
                layers += [WNConv2d(n_in, n_out, 3, stride, 1), nn.LeakyReLU(0.2)]
                n_in = n_out
            layers.append(nn.Dropout(dropout))
            side, stage = (side + 1) // 2, stage + 1
        for kernel, padding in ((3, 0), (1, 0), (1, 0)):  # the valid convolution, then the NiN layers
            layers += [WNConv2d(n_in, 2 * width, kernel, 1, padding), nn.LeakyReLU(0.2)]
            n_in = 2 * width
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = WNLinear(n_in, n_classes, train_scale=True)

    def features(self, x):  # (B, C, H, W) -> (B, 2 * width): globally pooled
        return self.body(x)

    def head(self, h):  # (B, F) -> (B, K)
        return self.classifier(h)

    def forward(self, x):
        return self.head(self.features(x))


def _mlp(m, image_shape, n_classes):
    return (
        MLPGenerator(image_shape, m.z_dim, m.g_hidden, m.vbn_ref),
        MLPDiscriminator(image_shape, n_classes, m.d_hidden, m.input_noise, m.hidden_noise, m.minibatch_kernels),
    )


def _dcgan(m, image_shape, n_classes):
    return (
        DCGANGenerator(image_shape, m.z_dim, m.width, m.vbn_ref),
        DCGANDiscriminator(image_shape, n_classes, m.width, m.input_noise, m.minibatch_kernels),
    )


def _conv(m, image_shape, n_classes):
    return (
        DCGANGenerator(image_shape, m.z_dim, m.width, m.vbn_ref),
        ConvDiscriminator(image_shape, n_classes, m.width, m.depth, m.input_noise, m.dropout),
    )


class Pair(NamedTuple):
    build: Callable  # (model config, image shape, D's outputs) -> (G, D)
    kind: str  # "images": an image generator and a discriminator; "segmentation": a segmenter and its adversary


# name -> how to build the pair; for unet (mode seg) G is the segmenter and D the adversary
MODELS = {
    "mlp": Pair(_mlp, "images"),
    "dcgan": Pair(_dcgan, "images"),
    "conv": Pair(_conv, "images"),
    "unet": Pair(build_unet, "segmentation"),
}


def build_models(model_cfg, image_shape, n_outputs: int) -> tuple[nn.Module, nn.Module]:
    """The (generator, discriminator) pair a ModelConfig names; D has `n_outputs` logits."""
    if model_cfg.name not in MODELS:
        raise ConfigError(f"unknown model '{model_cfg.name}'; choose one of {', '.join(MODELS)}")
    return MODELS[model_cfg.name].build(model_cfg, tuple(image_shape), n_outputs)
