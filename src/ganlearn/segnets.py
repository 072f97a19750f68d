"""The segmentation pair of `train.mode: seg` (Luc et al. 2016): a U-Net segmenter that maps images to
per-pixel class logits, and an adversary that tells ground-truth (image, label map) pairs from
predicted ones. In training they take the places of the generator and the discriminator.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ConfigError


def _block(n_in: int, n_out: int) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, at constant resolution."""
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(),
        nn.Conv2d(n_out, n_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(),
    )


class UNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015): `depth` halvings of resolution with doubling channels,
    then transposed-convolution upsampling joined with the encoder's maps of the same size."""

    def __init__(self, image_shape, n_classes: int, width: int = 16, depth: int = 3):
        super().__init__()
        c, h, w = image_shape
        if h % 2**depth or w % 2**depth:
            raise ConfigError(f"the unet model needs image sides divisible by {2**depth}, got {h}x{w}")
        chans = [width * 2**i for i in range(depth + 1)]  # e.g. 16, 32, 64, 128
        self.down = nn.ModuleList(_block(n_in, n_out) for n_in, n_out in zip([c] + chans[:-2], chans[:-1]))
        self.bottom = _block(chans[-2], chans[-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(ch, ch // 2, 2, stride=2) for ch in reversed(chans[1:]))
        self.merge = nn.ModuleList(_block(ch, ch // 2) for ch in reversed(chans[1:]))
        self.out = nn.Conv2d(width, n_classes, 1)

    def forward(self, x):  # (B, C, H, W) -> (B, K, H, W) class logits
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([up(x), skip], 1))
        return self.out(x)


class LabelMapAdversary(nn.Module):
    """(image, label map) -> one logit, high for ground truth. It sees the image stacked with a
    K-channel map (one-hot or soft), as Luc et al.'s 'basic' input; no batch norm, so real and
    predicted pairs can share one forward pass."""

    def __init__(self, image_shape, n_classes: int, width: int = 16, depth: int = 3):
        super().__init__()
        layers, ch = [], image_shape[0] + n_classes
        for i in range(depth):
            layers += [nn.Conv2d(ch, width * 2**i, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            ch = width * 2**i
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(ch, 1)

    def features(self, pair):  # (B, C + K, H, W) -> (B, F)
        return self.body(pair)

    def head(self, h):  # (B, F) -> (B, 1) logit of "ground truth"
        return self.classifier(h)

    def forward(self, pair):
        return self.head(self.features(pair))


def build_unet(m, image_shape, n_classes: int) -> tuple[nn.Module, nn.Module]:
    """(segmenter, adversary) for a ModelConfig; `n_classes` counts the background."""
    return UNet(image_shape, n_classes, m.width), LabelMapAdversary(image_shape, n_classes, m.width)
