"""DemoireNet: a compact multi-scale network that removes moire fringes.

Moire fringes range from a few pixels to a large part of the image, so the
network looks at several scales: an encoder of residual blocks at full, 1/2,
1/4 and 1/8 resolution (stride-2 convolutions), a decoder that upsamples
(bilinear) and adds the encoder's features at each scale, and a head that
predicts a correction added to the input (a residual: an image without moire
needs only a zero correction).

Contract (see :mod:`napari_mend.moire.learned`): the input is ``(N, 3, H, W)``
RGB normalised to about ``[0, 1]``, ``H`` and ``W`` multiples of
:attr:`DemoireNet.multiple`; the output has the same shape, the image without
moire.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.1))


class DemoireNet(nn.Module):
    """Multi-scale residual encoder-decoder for moire removal.

    Parameters
    ----------
    widths : sequence of int
        Channels at each scale, full resolution first; one scale per entry.
    blocks : int
        Residual blocks per encoder scale.
    """

    def __init__(self, widths=(16, 32, 48, 64), blocks: int = 1):
        super().__init__()
        widths = [int(w) for w in widths]
        self.multiple = 2 ** (len(widths) - 1)
        self.stem = nn.Conv2d(3, widths[0], 3, padding=1, padding_mode="reflect")
        self.down = nn.ModuleList(
            nn.Conv2d(a, b, 3, stride=2, padding=1, padding_mode="reflect")
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.encode = nn.ModuleList(
            nn.Sequential(*[_ResBlock(w) for _ in range(int(blocks))]) for w in widths
        )
        self.up = nn.ModuleList(
            nn.Conv2d(b, a, 3, padding=1, padding_mode="reflect")
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.decode = nn.ModuleList(_ResBlock(w) for w in widths[:-1])
        self.head = nn.Conv2d(widths[0], 3, 3, padding=1, padding_mode="reflect")
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.encode[0](F.leaky_relu(self.stem(x), 0.1))]
        for down, enc in zip(self.down, self.encode[1:]):
            feats.append(enc(F.leaky_relu(down(feats[-1]), 0.1)))
        y = feats[-1]
        for k in range(len(feats) - 2, -1, -1):
            y = F.interpolate(y, size=feats[k].shape[-2:], mode="bilinear", align_corners=False)
            y = self.decode[k](F.leaky_relu(self.up[k](y), 0.1) + feats[k])
        return x + self.head(y)
