"""The segmentation pair of `train.mode: seg` (Hung et al. 2018): a U-Net segmenter that maps images
to per-pixel class logits, and a fully convolutional adversary that tells, pixel by pixel, ground-truth
label maps from predicted ones; its confidence map picks the pixels of unlabelled images that the
segmenter then trains on. In training they take the places of the generator and the discriminator.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError


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


class ConfidenceMapAdversary(nn.Module):
    """Hung et al.'s fully convolutional discriminator: a K-channel label map (one-hot truth or the
    segmenter's softmax) -> a per-pixel logit that the pixel's map is ground truth, at the input's size.
    It sees the map alone, not the image; strided 4x4 convolutions, LeakyReLU, no batch norm."""

    def __init__(self, n_classes: int, width: int = 16, depth: int = 3):
        super().__init__()
        layers, ch = [], n_classes
        for i in range(depth):
            layers += [nn.Conv2d(ch, width * 2**i, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            ch = width * 2**i
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(ch, 1, 3, padding=1)

    def features(self, label_map):  # (B, K, H, W) -> (B, F, H / 2^depth, W / 2^depth)
        return self.body(label_map)

    def head(self, h):  # (B, F, h, w) -> (B, 1, h, w) logits of "ground truth"
        return self.classifier(h)

    def forward(self, label_map):  # (B, K, H, W) -> (B, 1, H, W), upsampled as in the paper
        return F.interpolate(self.head(self.features(label_map)), size=label_map.shape[-2:], mode="bilinear")


def build_unet(m, image_shape, n_classes: int) -> tuple[nn.Module, nn.Module]:
    """(segmenter, adversary) for a ModelConfig; `n_classes` counts the background."""
    return UNet(image_shape, n_classes, m.width), ConfidenceMapAdversary(n_classes, m.width)
