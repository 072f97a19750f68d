"""A convolutional discriminator sized for a laptop's CPU: the `cnn` pair's D (its G is DCGAN's).

Stages of two 3x3 convolutions with batch norm and leaky ReLU, 2x2 max-pooling between stages,
`width`, 2 `width`, 4 `width` ... channels, then a global average: the features. Pictures wider than
32 pixels are downsampled by the first convolution's stride (the convolutions at full size cost most),
and any picture size works (the average pools what is left).
"""

from __future__ import annotations

import torch.nn as nn

from .gan import GaussianNoise
from .techniques import MinibatchDiscrimination


def _conv(n_in: int, n_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, 3, stride, 1, bias=False), nn.BatchNorm2d(n_out), nn.LeakyReLU(0.1)]


class ConvNetDiscriminator(nn.Module):
    """`depth` stages of two convolutions at `width` * 2^stage channels; features (B, width * 2^(depth-1))."""

    def __init__(
        self,
        image_shape,
        n_classes: int,
        width: int = 32,
        depth: int = 3,
        input_noise: float = 0.0,
        minibatch_kernels: int = 0,
    ):
        super().__init__()
        channels, side = image_shape[0], min(image_shape[1:])
        layers = [GaussianNoise(input_noise)]
        for stage in range(depth):
            n_out = width * 2**stage
            if stage:
                layers.append(nn.MaxPool2d(2))
            stride = 2 if stage == 0 and side > 32 else 1  # downsample large pictures early
            layers += _conv(channels, n_out, stride) + _conv(n_out, n_out)
            channels = n_out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        mbd = [MinibatchDiscrimination(channels, minibatch_kernels)] if minibatch_kernels else []
        self.classifier = nn.Sequential(*mbd, nn.Linear(channels + minibatch_kernels, n_classes))

    def features(self, x):  # (B, C, H, W) -> (B, F)
        return self.body(x)

    def head(self, h):  # (B, F) -> (B, K); the fake logit is fixed at 0
        return self.classifier(h)

    def forward(self, x):
        return self.head(self.features(x))
