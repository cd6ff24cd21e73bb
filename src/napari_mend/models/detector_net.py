"""DetectorUNet: a compact U-Net of depthwise-separable convolutions for per-pixel defect scores."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvBNAct(nn.Sequential):
    """Convolution, batch norm and ReLU; :meth:`fuse` folds the norm into the convolution."""

    def __init__(self, cin, cout, kernel=1, *, stride=1, groups=1, dilation=1, act=True):
        pad = dilation * (kernel - 1) // 2
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad, dilation=dilation,
                      groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True) if act else nn.Identity(),
        )

    @torch.no_grad()
    def fuse(self):
        conv, bn = self[0], self[1]
        if isinstance(bn, nn.Identity):
            return
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                          stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                          groups=conv.groups, bias=True).to(conv.weight.device)
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        self[0], self[1] = fused, nn.Identity()


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 convolution followed by a pointwise one."""

    def __init__(self, cin, cout, *, stride=1, dilation=1, act=True):
        super().__init__(
            ConvBNAct(cin, cin, 3, stride=stride, groups=cin, dilation=dilation),
            ConvBNAct(cin, cout, 1, act=act),
        )


class Residual(nn.Module):
    """``relu(x + separable(x))``, optionally dilated for context."""

    def __init__(self, channels, *, dilation=1):
        super().__init__()
        self.body = SeparableConv(channels, channels, dilation=dilation, act=False)

    def forward(self, x):
        return F.relu(x + self.body(x))


class DetectorUNet(nn.Module):
    """Per-pixel multi-label defect detector.

    The encoder halves the resolution ``len(widths) - 1`` times with strided
    depthwise-separable convolutions; the decoder upsamples bilinearly and
    merges the skip connections; a full-resolution stem keeps one-pixel
    structures (thin scratches, dust specks) visible to the head.

    Parameters
    ----------
    in_channels : int
        Input channels (3: gray images are replicated).
    num_classes : int
        Output channels, one independent sigmoid per defect class in
        :data:`napari_mend.classes.DEFECT_CLASSES` order.
    widths : sequence of int
        Channels at full, 1/2, 1/4, ... resolution.
    context_dilations : sequence of int
        Dilations of the residual blocks at the coarsest level.

    Notes
    -----
    Input: (N, in_channels, H, W) normalised images, H and W multiples of
    :attr:`multiple`. Output: logits of shape (N, num_classes, H, W).
    """

    def __init__(self, *, in_channels=3, num_classes=6, widths=(16, 32, 64, 128, 256, 256),
                 context_dilations=(2, 4)):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.multiple = 2 ** (len(widths) - 1)
        self.stem = ConvBNAct(in_channels, widths[0], 3)
        self.down = nn.ModuleList()
        for cin, cout in zip(widths[:-1], widths[1:]):
            self.down.append(nn.Sequential(SeparableConv(cin, cout, stride=2), Residual(cout)))
        self.context = nn.Sequential(*(Residual(widths[-1], dilation=d) for d in context_dilations))
        self.up = nn.ModuleList()
        for deep, skip in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(nn.ModuleDict({
                "merge": ConvBNAct(deep + skip, skip, 1),
                "refine": SeparableConv(skip, skip),
            }))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x):
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = self.context(skips.pop())
        for block in self.up:
            skip = skips.pop()
            if "merge" in block:
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                y = block["merge"](torch.cat([y, skip], dim=1))
            else:  # fused: the deep part of the merge at the deep resolution, then upsampled
                y = F.interpolate(block["merge_deep"](y), size=skip.shape[-2:], mode="bilinear",
                                  align_corners=False)
                y = torch.relu_(y + block["merge_skip"](skip))
            y = block["refine"](y)
        return self.head(y)

    @torch.no_grad()
    def fuse(self):
        """Fold every batch norm into its convolution and split each decoder merge (inference
        only; idempotent).

        A merge is a 1x1 convolution of the upsampled deep features stacked on the skip's.
        Bilinear upsampling and a 1x1 convolution without bias commute (each output pixel is
        a weighted mean of input pixels, the convolution mixes channels), so the deep
        features' share is computed at their own, coarser resolution and upsampled with
        fewer channels, and no stacked copy is made: the same function, in another order of
        rounding (logits within about 3e-5 on a 1024-pixel tile) and about a sixth faster.
        """
        for module in self.modules():
            if isinstance(module, ConvBNAct):
                module.fuse()
        for block in self.up:
            if "merge" not in block:
                continue
            conv = block.pop("merge")[0]
            deep = conv.in_channels - conv.out_channels
            block["merge_deep"] = nn.Conv2d(deep, conv.out_channels, 1, bias=False)
            block["merge_skip"] = nn.Conv2d(conv.out_channels, conv.out_channels, 1)
            block["merge_deep"].weight.copy_(conv.weight[:, :deep])
            block["merge_skip"].weight.copy_(conv.weight[:, deep:])
            block["merge_skip"].bias.copy_(conv.bias)
            block.to(conv.weight.device)
        return self
