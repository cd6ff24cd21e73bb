"""demoire: spectral detection and notch filtering, dtypes and stacks, clean images, the CLI."""

from functools import partial

import numpy as np
import pytest
from helpers import psnr, textured

import napari_mend as nm
from napari_mend.moire import find_moire, notch_filter
from napari_mend.synthesis import add_moire, load_corpus_image

SIZE = 128
clean_image = partial(textured, size=SIZE, low=0.1, span=0.8)
"""A clean (SIZE, SIZE, channels) image in [0.1, 0.9]: ``clean_image(seed, channels=3)``."""


def photo(name):
    """A (SIZE, SIZE, 3) crop of a validation photograph."""
    image = load_corpus_image(name)
    image = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[40:40 + SIZE, 60:60 + SIZE], np.float32)


def fringes(image, frequency=(0.0, 0.3), strength=0.2, rows=slice(None)):
    """``image * (1 + strength * cos(2 pi f . x))``, in ``rows`` only."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    wave = np.cos(2 * np.pi * (frequency[0] * yy + frequency[1] * xx))
    out = image.copy()
    out[rows] = np.clip(image[rows] * (1 + strength * wave[rows, :, None]), 0, 1)
    return out.astype(np.float32)


def test_notch_removes_fringes_and_reports_their_frequency():
    clean = clean_image(1)
    damaged = fringes(clean)
    filtered, report = notch_filter(damaged)
    assert psnr(filtered, clean) > psnr(damaged, clean) + 6
    assert report.found
    fy, fx = max(report.peaks, key=lambda p: p["strength"])["frequency"]
    assert abs(abs(fx) - 0.3) <= 1.5 / 64 and abs(fy) <= 1.5 / 64
    assert report.peaks[0]["period_px"] == pytest.approx(1 / np.hypot(fy, fx), rel=1e-2)


def test_notch_is_windowed_to_the_affected_region():
    clean = photo("chelsea")
    damaged = fringes(clean, frequency=(0.25, 0.2), rows=slice(0, SIZE // 2))
    filtered, report = notch_filter(damaged)
    assert report.region[: SIZE // 2 - 16].mean() > 0.9
    change = np.abs(filtered - damaged).mean(axis=-1)
    upper, lower = slice(0, SIZE // 2 - 16), slice(SIZE // 2 + 20, None)
    assert change[lower].mean() < 0.1 * change[upper].mean()
    assert np.array_equal(filtered[lower][~report.region[lower]],
                          damaged[lower][~report.region[lower]])
    assert report.as_dict()["region_bbox"][0] == 0


@pytest.mark.parametrize("name", ["chelsea", "coins", "hubble_deep_field"])
def test_images_without_moire_come_back_unchanged(name):
    clean = photo(name)
    assert not find_moire(clean).found
    out = nm.demoire(clean, channel_axis=-1, method="notch")
    assert np.array_equal(out, clean)


def test_synthesized_moire_gain_over_blur():
    from scipy import ndimage as ndi

    clean = photo("chelsea")
    damaged, _ = add_moire(clean, np.random.default_rng(0), region=False, kind="lcd",
                           strength=0.2)
    out = nm.demoire(damaged, channel_axis=-1, method="notch")
    blurred = max(psnr(ndi.gaussian_filter(damaged, (s, s, 0)), clean) for s in (0.5, 1, 1.5, 2))
    assert psnr(out, clean) > psnr(damaged, clean) + 3
    assert psnr(out, clean) > blurred


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, np.float64])
def test_dtypes_stacks_and_reports(dtype):
    planes = np.stack([fringes(clean_image(9, channels=1), frequency=(0.3, 0.1))[..., 0],
                       clean_image(10, channels=1)[..., 0]])
    if np.dtype(dtype).kind == "u":
        image = np.round(planes * np.iinfo(dtype).max).astype(dtype)
    else:
        image = planes.astype(dtype)
    before = image.copy()
    out, reports = nm.demoire(image, method="notch", return_report=True)
    assert np.array_equal(image, before)
    assert out.shape == image.shape
    assert out.dtype == (np.float32 if dtype == np.float16 else dtype)
    assert [r["found"] for r in reports] == [True, False]
    assert np.array_equal(out[1], image[1].astype(out.dtype))
    assert not np.array_equal(out[0], image[0].astype(out.dtype))


def test_auto_uses_the_method_the_model_card_names(monkeypatch):
    import napari_mend.moire.api as special

    assert special.auto_demoire_method("no-such-model") == "notch"
    calls = []
    monkeypatch.setattr(special, "auto_demoire_method",
                        lambda model=None: calls.append(1) or "notch")
    clean = clean_image(11)
    assert np.array_equal(nm.demoire(clean, channel_axis=-1), clean) and calls


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        nm.demoire(np.zeros((8, 8)), method="fft")


@pytest.mark.slow
def test_learned_network_keeps_shape_and_dtype():
    pytest.importorskip("torch")
    from napari_mend.models.registry import card_or_none

    if card_or_none("demoire") is None:
        pytest.skip("no demoire model installed")
    damaged = np.round(fringes(clean_image(12)) * 255).astype(np.uint8)
    out = nm.demoire(damaged[:64, :80], channel_axis=-1, method="learned")
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    gray = nm.demoire(damaged[:40, :48, 0].astype(np.float32) / 255, method="learned")
    assert gray.shape == (40, 48) and np.isfinite(gray).all()


def test_network_is_a_residual_identity_at_initialisation():
    torch = pytest.importorskip("torch")
    from napari_mend.models.demoire_net import DemoireNet

    net = DemoireNet(widths=(4, 8, 8), blocks=1)
    x = torch.rand(1, 3, 20, 28)
    assert torch.equal(net(x), x)  # zero-initialised head: no correction yet
    assert net.multiple == 4


def test_demoire_cli_records_the_peaks(tmp_path):
    from skimage.io import imsave

    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff

    src = tmp_path / "moire.png"
    imsave(src, np.round(fringes(clean_image(13)) * 255).astype(np.uint8), check_contrast=False)
    out = tmp_path / "clean.tif"
    assert main(["demoire", str(src), "-o", str(out), "--method", "notch"]) == 0
    data, prov = read_image_tiff(out)
    assert data.shape == (SIZE, SIZE, 3) and data.dtype == np.uint8
    assert prov["operation"] == "demoire" and prov["parameters"]["found"][0]["found"]
    assert main(["demoire", str(src), "-o", str(out)]) == 2  # no overwrite


def test_quick_peak_screen_passes_every_image_the_full_analysis_flags():
    from napari_mend.moire.spectrum import has_peaks

    coins = load_corpus_image("coins").astype(np.float32)[..., None]  # validation images
    assert not has_peaks(coins) and not find_moire(coins).found
    noise = np.random.default_rng(0).random((512, 512, 3)).astype(np.float32)
    assert not has_peaks(noise)
    clean = load_corpus_image("chelsea").astype(np.float32)
    for seed in range(12):
        damaged = np.asarray(add_moire(clean, np.random.default_rng(seed))[0], np.float32)
        assert has_peaks(damaged) or not find_moire(damaged).found, seed


def test_demoire_returns_its_provenance():
    image = fringes(photo("camera"))
    clean, reports, record = nm.demoire(image, channel_axis=-1, method="notch",
                                        return_report=True, return_provenance=True)
    assert record["operation"] == "demoire" and record["method"] == "notch"
    assert record["parameters"]["requested"] == "notch" and record["parameters"]["found"] == reports
    assert record["mask"]["changed_pixels"] == int((clean != image).any(axis=-1).sum()) > 0
    assert record["model"] is None
