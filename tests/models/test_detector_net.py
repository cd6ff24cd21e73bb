"""DetectorUNet prepared for inference computes the function it was trained as."""

import copy

import pytest

torch = pytest.importorskip("torch")

from napari_mend.models.detector_net import DetectorUNet  # noqa: E402


def trained_like(seed=0):
    """A small network with batch-norm statistics that are not the identity, in eval mode."""
    torch.manual_seed(seed)
    net = DetectorUNet(widths=(8, 16, 24, 32), context_dilations=(2,))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 96, 160)])
def test_fused_and_split_network_computes_the_same(shape):
    net = trained_like()
    fused = copy.deepcopy(net).fuse()
    x = torch.randn(shape)
    with torch.inference_mode():
        expected, got = net(x), fused(x)
        again = copy.deepcopy(fused).fuse()(x)  # idempotent
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert all("merge" not in block and "merge_deep" in block for block in fused.up)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(again, got, rtol=0, atol=0)
