"""``auto`` fill: per-group choice between the classical and the learned fill."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage as ndi

torch = pytest.importorskip("torch")

from napari_mend.inpainting import auto  # noqa: E402
from napari_mend.inpainting.auto import auto_rules, choose, fill_auto  # noqa: E402
from napari_mend.inpainting.classical import fill_biharmonic, fill_telea  # noqa: E402
from napari_mend.inpainting.fills import FILLS  # noqa: E402
from napari_mend.inpainting.learned import hole_groups  # noqa: E402


def _model(folder, rules=None, rim_width=None, smooth_max=None):
    from napari_mend.models.inpainter_net import InpainterNet
    from napari_mend.training.common import export_model

    torch.manual_seed(0)
    config = {"widths": [8, 16, 16, 24], "blocks": 1, "dilations": [1]}
    card = {"kind": "inpainter", "architecture": "inpainter_net", "config": config}
    if rules is not None:
        card["auto"] = {"rules": rules}
    if rim_width is not None:
        card.setdefault("auto", {})["rim_width"] = rim_width
    if smooth_max is not None:
        card.setdefault("auto", {})["smooth_max"] = smooth_max
    weights, _ = export_model(folder, "tiny_inpainter", module=InpainterNet(**config), card=card)
    return str(weights)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return _model(tmp_path_factory.mktemp("model"), rules=[[2.0, "telea"]])


def _thin_and_thick():
    mask = np.zeros((160, 200), bool)
    mask[20, 10:190] = True  # a 1-px scratch
    mask[90:140, 60:120] = True  # a 50x60 blotch, far from the scratch
    return mask


def test_choice_by_thickness(tiny_model, monkeypatch):
    calls = []
    real = auto.fill_learned

    def spy(image, mask, **kw):
        calls.append(mask.copy())
        return real(image, mask, **kw)

    monkeypatch.setattr(auto, "fill_learned", spy)
    image = np.random.default_rng(0).random((160, 200, 3), dtype=np.float32)
    mask = _thin_and_thick()
    out = fill_auto(image, mask, model=tiny_model)
    assert len(calls) == 1
    assert calls[0][100, 80] and not calls[0][20, 50]  # only the blotch goes to the network
    assert np.array_equal(out[~mask], image[~mask])
    assert np.isfinite(out).all()

    calls.clear()
    fill_auto(image, mask & (np.arange(160) < 50)[:, None], model=tiny_model)
    assert calls == []  # a thin scratch alone never reaches the network


def test_rules_come_from_the_card(tmp_path, monkeypatch):
    path = _model(tmp_path, rules=[[1000.0, "telea"], [1.0, "biharmonic"]])
    assert auto_rules(path) == [[1.0, "biharmonic"], [1000.0, "telea"]]  # sorted by radius
    used = []
    for name in ("biharmonic", "telea"):
        real = FILLS[name]
        counted = replace(real, function=lambda im, m, _n=name, _f=real.function:
                          used.append(_n) or _f(im, m), available=lambda: True)
        monkeypatch.setitem(FILLS, name, counted)
    monkeypatch.setattr(auto, "fill_learned", lambda *a, **k: pytest.fail("network used"))
    image = np.random.default_rng(1).random((160, 200, 1), dtype=np.float32)
    out = fill_auto(image, _thin_and_thick(), model=path)
    assert np.isfinite(out).all()
    assert sorted(used) == ["biharmonic", "telea"]  # the 1-px scratch, then the blotch
    card = json.loads((tmp_path / "tiny_inpainter.json").read_text())
    del card["auto"]
    (tmp_path / "tiny_inpainter.json").write_text(json.dumps(card))
    assert auto_rules(path) == auto.DEFAULT_RULES


def test_choose():
    rules = [[1.5, "biharmonic"], [4.0, "telea"]]
    assert [choose(r, rules) for r in (1.0, 1.5, 3.0, 4.5)] == ["biharmonic", "biharmonic",
                                                                "telea", "learned"]


@pytest.mark.parametrize("channels", [1, 3])
def test_bit_identity_and_border(tiny_model, channels):
    rng = np.random.default_rng(2)
    image = (rng.random((64, 70, channels)) * 4000 - 1000).astype(np.float32)
    mask = rng.random((64, 70)) < 0.02  # dust-like single pixels
    mask[:, -3:] = True  # a band along the border
    mask[0, 0] = True
    before = image.copy()
    out = fill_auto(image, mask, model=tiny_model)
    assert out.dtype == np.float32 and np.array_equal(out[~mask], image[~mask])
    assert np.array_equal(image, before) and np.isfinite(out).all()


def test_classical_fill_falls_back_without_opencv(monkeypatch):
    telea = FILLS["telea"]
    monkeypatch.setitem(FILLS, "telea", replace(telea, available=lambda: False))
    assert auto.classical_fill("telea") is fill_biharmonic
    assert auto.classical_fill("biharmonic") is fill_biharmonic
    monkeypatch.setitem(FILLS, "telea", replace(telea, available=lambda: True))
    assert auto.classical_fill("telea") is fill_telea


def test_long_scratch_is_filled_tile_by_tile(tiny_model):
    """A thin scratch longer than a tile gives the same fill as one classical call."""
    yy, xx = np.mgrid[:48, :1200]
    image = (0.5 + 0.3 * np.sin(xx / 40.0) * np.cos(yy / 15.0))[..., None].astype(np.float32)
    mask = np.zeros((48, 1200), bool)
    mask[24, 5:1190] = True
    out = fill_auto(image, mask, model=tiny_model)  # rule: telea up to radius 2
    whole = auto.classical_fill("telea")(image, mask)
    assert np.array_equal(out[~mask], image[~mask])
    assert np.abs(out[mask] - whole[mask]).max() < 0.02


def _smooth_plane(shape, channels=3):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    base = 0.5 + 0.3 * np.sin(xx / 23.0) * np.cos(yy / 17.0)
    return np.repeat(base[..., None], channels, axis=-1).astype(np.float32)


def test_rim_blend_mixes_the_rim_towards_the_classical_fill():
    from scipy import ndimage as ndi

    from napari_mend.inpainting.learned import hole_groups

    image = _smooth_plane((120, 140))
    mask = np.zeros((120, 140), bool)
    mask[30:90, 40:110] = True
    filled = np.where(mask[..., None], 0.0, image).astype(np.float32)  # a poor fill: black
    (box, pixels), = hole_groups(mask)
    unchanged = filled.copy()
    auto.blend_rim(unchanged, box, pixels, 0)
    assert np.array_equal(unchanged, filled)  # width 0: nothing mixed
    out = filled.copy()
    auto.blend_rim(out, box, pixels, 8)
    depth = ndi.distance_transform_edt(mask)
    assert np.array_equal(out[~mask], image[~mask])
    assert np.array_equal(out[depth > 8], filled[depth > 8])  # the network's inside is kept
    rim = mask & (depth <= 8)
    error = np.abs(out - image).mean(axis=-1)
    before = np.abs(filled - image).mean(axis=-1)
    assert error[rim & (depth == 1)].mean() < 0.25 * before[rim & (depth == 1)].mean()
    # the classical share falls with the depth: the error grows towards the inside
    assert error[rim & (depth == 1)].mean() < error[rim & (depth == 4)].mean() < \
        error[rim & (depth == 8)].mean()


def test_rim_blend_of_a_hole_larger_than_a_tile(monkeypatch):
    monkeypatch.setattr(auto, "CLASSICAL_TILE", 64)
    from scipy import ndimage as ndi

    from napari_mend.inpainting.learned import hole_groups

    image = _smooth_plane((300, 320), channels=1)
    mask = np.zeros((300, 320), bool)
    mask[20:280, 30:300] = True  # deep tiles are all hole, with no rim
    filled = np.where(mask[..., None], 0.25, image).astype(np.float32)
    (box, pixels), = hole_groups(mask)
    out = filled.copy()
    auto.blend_rim(out, box, pixels, 6)
    depth = ndi.distance_transform_edt(mask)
    assert np.array_equal(out[depth > 6], filled[depth > 6])
    assert np.array_equal(out[~mask], image[~mask])
    assert (out[mask & (depth <= 3)] != 0.25).all()  # the rim, tile by tile, mixed


def test_auto_mixes_the_rim_of_learned_groups_only(tmp_path, monkeypatch):
    path = _model(tmp_path, rules=[[2.0, "telea"]], rim_width=6.0)
    assert auto.rim_width(path) == 6.0
    blended = []
    real = auto.blend_rim
    monkeypatch.setattr(auto, "blend_rim", lambda out, box, pixels, width:
                        blended.append((pixels.shape, width)) or real(out, box, pixels, width))
    image = np.random.default_rng(3).random((160, 200, 3), dtype=np.float32)
    mask = _thin_and_thick()
    out = fill_auto(image, mask, model=path)
    assert blended == [((50, 60), 6.0)]  # the blotch, not the scratch
    assert np.array_equal(out[~mask], image[~mask])
    assert auto.rim_width(_model(tmp_path / "plain", rules=[[2.0, "telea"]])) == 0.0


def _gradient(shape=(160, 200)):
    """A smooth colour gradient (a quadratic surface in each channel)."""
    y, x = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    y, x = y / shape[0], x / shape[1]
    return np.stack([x, y, 0.5 * (x * x + y)], axis=-1).astype(np.float32)


def test_context_roughness_tells_smooth_from_textured_surroundings():
    mask = np.zeros((160, 200), bool)
    mask[60:100, 80:130] = True
    (box, pixels), = hole_groups(mask)
    ramp = np.broadcast_to(np.linspace(0, 1, 200, dtype=np.float32)[None, :, None], (160, 200, 3))
    assert auto.context_roughness(ramp, mask, box, pixels, scale=1.0) < 1e-6
    noisy = np.random.default_rng(1).random((160, 200, 3), dtype=np.float32)
    assert auto.context_roughness(noisy, mask, box, pixels, scale=1.0) > 0.5
    assert auto.context_roughness(noisy, mask, box, pixels, scale=2.0) == pytest.approx(
        auto.context_roughness(noisy, mask, box, pixels, scale=1.0) / 2)
    # values inside the holes are never read
    scribbled = noisy.copy()
    scribbled[mask] = 1e6
    assert auto.context_roughness(scribbled, mask, box, pixels, scale=1.0) == \
        auto.context_roughness(noisy, mask, box, pixels, scale=1.0)
    assert auto.context_roughness(noisy, np.ones_like(mask), box, pixels, scale=1.0) == np.inf


def test_context_roughness_tile_by_tile_is_exact():
    """A group spanning several tiles measures the same as in one piece."""
    rng = np.random.default_rng(2)
    plane = rng.random((700, 1300, 1), dtype=np.float32)
    mask = np.zeros((700, 1300), bool)
    mask[100:600, 50:1250] = rng.random((500, 1200)) < 0.9
    mask = ndi.binary_closing(mask, iterations=3)
    mask[30:36, 600:700] = True  # another hole, not part of the group's context
    groups = hole_groups(mask, merge_distance=0)
    box, pixels = max(groups, key=lambda g: g[1].sum())
    assert box[1].stop - box[1].start > auto.CLASSICAL_TILE
    group = np.zeros_like(mask)
    group[box] = pixels
    clear = ndi.binary_erosion(~mask, np.ones((3, 3), bool))
    band = clear & (ndi.distance_transform_edt(~group) <= auto.ROUGHNESS_BAND)
    expected = np.sqrt(np.mean(ndi.laplace(plane[..., 0].astype(np.float64))[band] ** 2))
    assert auto.context_roughness(plane, mask, box, pixels, scale=1.0) == pytest.approx(expected,
                                                                                        rel=1e-9)


def test_thick_holes_in_smooth_surroundings_get_the_smooth_fill(tmp_path, monkeypatch):
    from napari_mend.inpainting.classical import fill_biharmonic

    image = _gradient()
    mask = np.zeros(image.shape[:2], bool)
    mask[60:100, 80:130] = True
    calls = []
    real = auto.fill_learned
    monkeypatch.setattr(auto, "fill_learned", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    smooth = _model(tmp_path / "smooth", rules=[[2.0, "telea"]], smooth_max=0.05)
    out = fill_auto(image, mask, model=smooth)
    assert calls == []  # the network is not run
    np.testing.assert_array_equal(out, fill_biharmonic(image, mask))
    assert np.array_equal(out[~mask], image[~mask])
    # textured surroundings still go to the network, and so does everything without smooth_max
    noisy = image + np.random.default_rng(3).normal(0, 0.2, image.shape).astype(np.float32)
    fill_auto(noisy, mask, model=smooth)
    assert calls == [1]
    fill_auto(image, mask, model=_model(tmp_path / "plain", rules=[[2.0, "telea"]]))
    assert calls == [1, 1]
    # a hole thicker than COARSE_ABOVE is judged and filled at its own scale
    yy, xx = np.mgrid[-300:300, -300:300]
    disc = np.hypot(yy, xx) < 160
    big = _gradient((600, 600))
    out = fill_auto(big, disc, model=smooth)
    assert calls == [1, 1]  # coarse biharmonic, no network
    assert np.array_equal(out[~disc], big[~disc])
    assert 10 * np.log10(1 / np.mean((out[disc] - big[disc]) ** 2)) > 40
    # an enlarged texture is smooth at the pixel scale, not at the scale of this hole
    texture = np.random.default_rng(4).random((75, 75, 3), dtype=np.float32)
    texture = np.repeat(np.repeat(texture, 8, axis=0), 8, axis=1)
    texture = ndi.uniform_filter(texture, size=(9, 9, 1))
    (box, pixels), = hole_groups(disc)
    assert auto.context_roughness(texture, disc, box, pixels, scale=1.0) <= 0.05
    fill_auto(texture, disc, model=smooth)
    assert calls == [1, 1, 1]


def test_smooth_fill_in_the_images_dtype_matches_the_float_fill(tmp_path):
    """The coarse smooth fill writes a uint8 plane in place as it fills a float32 one."""
    import napari_mend as nm
    from napari_mend._validation import from_unit_float, to_unit_float

    model = _model(tmp_path, rules=[[2.0, "telea"]], smooth_max=0.05)
    image = from_unit_float(_gradient((400, 400)), np.uint8)
    disc = np.hypot(*np.mgrid[-200:200, -200:200]) < 60  # coarse: thicker than COARSE_ABOVE
    out = nm.inpaint(image, disc, channel_axis=-1, method="auto", model=model)
    expected = from_unit_float(fill_auto(to_unit_float(image), disc, model=model), np.uint8)
    assert np.array_equal(out[~disc], image[~disc])
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
