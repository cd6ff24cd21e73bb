"""InpainterNet: a compact inpainting generator with fast Fourier convolutions.

The design follows LaMa (Suvorov et al., 2022) at a size that runs on a CPU:
an encoder (one 7x7 stem, three stride-2 convolutions) brings the image to
1/8 resolution, a stack of residual blocks mixes a local (dilated 3x3) and a
global (spectral) branch there, and a decoder (nearest upsampling + 3x3
convolution, additive skips from the encoder) returns to full resolution.
The spectral branch transforms features with a 2-D real FFT, mixes channels
of the real and imaginary parts with a 1x1 convolution, batch norm and ReLU,
and transforms back, so every block sees the whole image: the receptive field
is global from the first block on.

Contract (see :mod:`napari_mend.inpainting.learned`): the input is
``(N, 4, H, W)``: RGB normalised to about ``[0, 1]`` multiplied by
``1 - mask``, then the mask (1 = hole); ``H`` and ``W`` multiples of
:attr:`InpainterNet.multiple`. The output ``(N, 3, H, W)`` is the prediction
for every pixel; callers composite ``mask * pred + (1 - mask) * image``.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, *, stride: int = 1,
                  dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, dilation=dilation,
                  padding_mode="reflect", bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class FourierUnit(nn.Module):
    """Global channel mixing in the frequency domain (LaMa's Fourier unit)."""

    def __init__(self, channels: int):
        super().__init__()
        self.mix = nn.Sequential(
            nn.Conv2d(2 * channels, 2 * channels, 1, bias=False),
            nn.BatchNorm2d(2 * channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h, w = x.shape[-2:]
        # FFTs run in float32 (half precision FFTs need power-of-two sizes).
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.fft.rfft2(x.float(), norm="ortho")
            z = torch.cat([spec.real, spec.imag], dim=1)
            z = self.mix(z)
            re, im = z.chunk(2, dim=1)
            out = torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")
        return out.to(dtype)


class SpectralBranch(nn.Module):
    """1x1 reduce, Fourier unit with a residual, 1x1 expand."""

    def __init__(self, channels: int):
        super().__init__()
        hidden = max(channels // 2, 8)
        self.reduce = _conv_bn_relu(channels, hidden, 1)
        self.fourier = FourierUnit(hidden)
        self.expand = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.reduce(x)
        return self.expand(y + self.fourier(y))


class FFCLayer(nn.Module):
    """Local dilated 3x3 convolution plus global spectral branch, BN, ReLU."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.local = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                               padding_mode="reflect", bias=False)
        self.spectral = SpectralBranch(channels)
        self.post = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.local(x) + self.spectral(x))


class FFCBlock(nn.Module):
    """Residual block of two :class:`FFCLayer`."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.layers = nn.Sequential(FFCLayer(channels, dilation), FFCLayer(channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class InpainterNet(nn.Module):
    """Compact LaMa-style inpainting generator.

    Parameters
    ----------
    widths : sequence of 4 int
        Channels at full, 1/2, 1/4 and 1/8 resolution.
    blocks : int
        Number of residual FFC blocks at 1/8 resolution.
    dilations : sequence of int
        Dilation of the local branch of each block, cycled.

    Notes
    -----
    Input ``(N, 4, H, W)`` (masked RGB in about ``[0, 1]``, then the mask),
    output ``(N, 3, H, W)``; ``H`` and ``W`` must be multiples of
    :attr:`multiple` (8).
    """

    multiple = 8

    def __init__(self, *, widths=(32, 64, 96, 128), blocks: int = 6, dilations=(1, 2, 4)):
        super().__init__()
        w0, w1, w2, w3 = (int(w) for w in widths)
        self.stem = _conv_bn_relu(4, w0, 7)
        self.down1 = _conv_bn_relu(w0, w1, 3, stride=2)
        self.down2 = _conv_bn_relu(w1, w2, 3, stride=2)
        self.down3 = _conv_bn_relu(w2, w3, 3, stride=2)
        dil = [int(d) for d in dilations]
        self.blocks = nn.Sequential(*[FFCBlock(w3, dil[i % len(dil)]) for i in range(int(blocks))])
        self.up3 = _conv_bn_relu(w3, w2, 3)
        self.up2 = _conv_bn_relu(w2, w1, 3)
        self.up1 = _conv_bn_relu(w1, w0, 3)
        self.head = nn.Conv2d(w0, 3, 7, padding=3, padding_mode="reflect")

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image, mask = x[:, :3], x[:, 3:4]
        # centre the known pixels; holes stay 0 (the mid grey)
        x = torch.cat([(image - 0.5) * (1 - mask), mask], dim=1)
        f0 = self.stem(x)
        f1 = self.down1(f0)
        f2 = self.down2(f1)
        f3 = self.blocks(self.down3(f2))
        y = self._up(self.up3(f3)) + f2
        y = self._up(self.up2(y)) + f1
        y = self._up(self.up1(y)) + f0
        return self.head(y) + 0.5
