"""Lazy (dask, zarr) detection and mending: laziness, agreement with in-memory results."""

import importlib

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import napari_mend as nm  # noqa: E402
from napari_mend import arrays, blocks
from napari_mend.detection import api as detection_api
from napari_mend.detection.scores import LazyDefectScores
from napari_mend.inpainting import api as inpainting_api
from napari_mend.io import images, zarr_store
from napari_mend.progress import Cancelled  # noqa: E402

restore_module = importlib.import_module("napari_mend.restore")


def _scratched(rng, shape=(96, 104), channels=3, dtype=np.uint8):
    """A textured image with a bright scratch and a dark speck, and the pixels they cover."""
    base = rng.random(shape + ((channels,) if channels else ()))
    image = (base * 40 + 100).astype(dtype)
    hi = 255 if dtype == np.uint8 else 60000
    image[shape[0] // 2, 10:-10] = hi
    image[40:44, 60:64] = 0
    return image


def test_detect_single_block_equals_in_memory():
    rng = np.random.default_rng(0)
    image = _scratched(rng)
    lazy_labels = nm.detect(da.from_array(image, chunks=(48, 48, 3)), channel_axis=-1,
                            method="classical")  # rechunked to one block: 1024 px
    assert isinstance(lazy_labels, da.Array)
    assert lazy_labels.shape == image.shape[:2] and lazy_labels.dtype == np.uint8
    expected = nm.detect(image, channel_axis=-1, method="classical")
    assert (expected == 1).sum() > 50  # the scratch is found
    np.testing.assert_array_equal(lazy_labels.compute(), expected)
    # scores stored as float16 in memory: one just under 0.5 rounds onto it, labelled alike
    from napari_mend._sample_data import sample_image

    photo, _, axis = sample_image("scratched_photo")
    np.testing.assert_array_equal(
        nm.detect(da.from_array(photo), channel_axis=axis, method="classical").compute(),
        nm.detect(photo, channel_axis=axis, method="classical"))


def test_detect_blocks_find_what_the_whole_plane_finds():
    rng = np.random.default_rng(1)
    image = _scratched(rng, (96, 150))
    labels = detection_api.lazy_labels(da.from_array(image), channel_axis=-1, method="classical",
                         chunk=50, depth=24).compute()
    expected = nm.detect(image, channel_axis=-1, method="classical")
    assert labels.shape == expected.shape
    scratch = expected == 1
    assert scratch.sum() > 100  # the scratch crosses three blocks
    assert (labels[scratch] == 1).mean() > 0.95
    assert (labels == expected).mean() > 0.99


def test_nothing_is_computed_until_asked():
    rng = np.random.default_rng(2)
    image = _scratched(rng)
    reads = []

    def source(block):
        if block.size:  # dask probes with empty blocks to learn the output type
            reads.append(block.shape)
        return block

    x = da.from_array(image, chunks=(48, 52, 3)).map_blocks(source, dtype=image.dtype)
    labels = nm.detect(x, channel_axis=-1, method="classical")
    mended = nm.inpaint(x, labels, channel_axis=-1, method="telea")
    assert reads == []
    out = mended.compute()
    assert reads and out.shape == image.shape and out.dtype == image.dtype


def test_lazy_scores_threshold_lazily():
    rng = np.random.default_rng(3)
    image = _scratched(rng)
    x = da.from_array(image)
    scores = nm.detect_scores(x, channel_axis=-1, method="classical")
    assert isinstance(scores, LazyDefectScores)
    assert scores.scores.shape == (6,) + image.shape[:2]
    labels = scores.labels(threshold=0.5, classes=["scratch"])
    assert isinstance(labels, da.Array)
    expected = nm.detect_scores(image, channel_axis=-1, method="classical")
    np.testing.assert_allclose(scores.scores.compute(), expected.scores)
    np.testing.assert_array_equal(labels.compute(), expected.labels(classes=["scratch"]))
    with pytest.raises(ValueError, match="threshold"):
        scores.labels(threshold=2)


@pytest.mark.parametrize("dtype, channel_axis, shape", [
    (np.uint8, -1, (120, 150, 3)),
    (np.uint16, None, (2, 120, 150)),  # a stack of gray planes
    (np.float16, 0, (3, 120, 150)),  # channels first
    (np.float64, None, (120, 150)),
])
def test_inpaint_contract(dtype, channel_axis, shape):
    rng = np.random.default_rng(4)
    if np.dtype(dtype).kind == "f":
        image = (rng.random(shape) * 900 - 300).astype(dtype)  # any value range
    else:
        image = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    spatial = tuple(n for i, n in enumerate(shape) if channel_axis is None
                    or i != channel_axis % len(shape))
    mask = np.zeros(spatial[-2:], bool)
    mask[20:26, 30:140] = True  # crosses block edges
    mask[90:93, 60:63] = True
    before = image.copy()
    out = inpainting_api.inpaint(da.from_array(image), mask, channel_axis=channel_axis,
                       method="biharmonic", chunk=64, depth=24)
    assert isinstance(out, da.Array)
    out_dtype = np.float32 if dtype == np.float16 else dtype
    assert out.dtype == out_dtype and out.shape == image.shape
    result = out.compute()
    assert result.dtype == out_dtype and result.shape == image.shape
    expected = nm.inpaint(image, mask, channel_axis=channel_axis, method="biharmonic")
    keep = np.broadcast_to(~mask, spatial)
    if channel_axis is not None:
        keep = np.expand_dims(keep, channel_axis % len(shape))
    keep = np.broadcast_to(keep, shape)
    assert np.array_equal(result[keep], image.astype(out_dtype)[keep])  # bit-identical
    # holes cut by block edges are filled from what each block sees: close, not equal
    span = np.iinfo(dtype).max if np.dtype(dtype).kind in "ui" else 900
    tol = max(1, 1e-3 * span)
    assert np.abs(result.astype(np.float64) - expected.astype(np.float64)).max() <= tol
    assert np.array_equal(image, before)


def test_inpaint_dask_and_zarr_masks_and_images():
    zarr = pytest.importorskip("zarr")
    rng = np.random.default_rng(5)
    image = _scratched(rng)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[10:14, 20:90] = 3  # a Labels array: non-zero = fill
    z_image = zarr.array(image, chunks=(64, 64, 3))
    out = nm.inpaint(z_image, da.from_array(mask, chunks=50), channel_axis=-1, method="telea")
    assert isinstance(out, da.Array)
    result = out.compute()
    assert np.array_equal(result[mask == 0], image[mask == 0])
    assert not np.array_equal(result[mask > 0], image[mask > 0])
    # a NumPy image with a dask mask is lazy too
    assert isinstance(nm.inpaint(image, da.from_array(mask), channel_axis=-1, method="telea"),
                      da.Array)


def test_bad_inputs_fail_before_or_during_compute():
    rng = np.random.default_rng(6)
    image = _scratched(rng)
    x = da.from_array(image)
    with pytest.raises(ValueError, match="channel_axis"):
        nm.detect(x, channel_axis=5, method="classical")
    with pytest.raises(TypeError, match="int32"):
        nm.detect(x.astype(np.int32), channel_axis=-1, method="classical")
    with pytest.raises(ValueError, match="spatial shape"):
        nm.inpaint(x, np.zeros((5, 5), bool), channel_axis=-1, method="telea")
    with pytest.raises(ValueError, match="unknown method"):
        nm.inpaint(x, np.zeros(image.shape[:2], bool), channel_axis=-1, method="magic")
    with pytest.raises(ValueError, match="threshold"):
        nm.detect(x, channel_axis=-1, method="classical", threshold=1.5)
    bad = image.astype(np.float32)
    bad[3, 3, 0] = np.nan
    labels = nm.detect(da.from_array(bad), channel_axis=-1, method="classical")
    with pytest.raises(ValueError, match="NaN"):
        labels.compute()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nm.inpaint(x, da.full(image.shape[:2], 2.0), channel_axis=-1, method="telea").compute()


def test_learned_blocks_agree_with_whole_plane(tmp_path):
    torch = pytest.importorskip("torch")
    from napari_mend.models.detector_net import DetectorUNet
    from napari_mend.training.common import export_model

    torch.manual_seed(0)
    config = {"widths": [8, 16, 16]}
    net = DetectorUNet(**config).eval()
    _, card = export_model(tmp_path, "tiny_detector", module=net,
                           card={"kind": "detector", "architecture": "detector_unet",
                                 "config": config, "inference": {"tile": 64, "overlap": 16}})
    rng = np.random.default_rng(7)
    image = _scratched(rng, (120, 160)).astype(np.float32) * 10 - 500  # any value range
    scores = nm.detect_scores(da.from_array(image), channel_axis=-1, model=str(card))
    block = detection_api.lazy_scores(da.from_array(image), channel_axis=-1, model=str(card), chunk=64)
    expected = nm.detect_scores(image, channel_axis=-1, model=str(card)).scores
    # float16 scores: equal up to their resolution (the plane's range is taken in its own
    # units in memory and in unit scale lazily)
    np.testing.assert_allclose(scores.scores.compute(), expected, atol=1e-3)
    # blocks share the plane's normalisation: only tile blending near block edges differs
    assert np.abs(block.scores.compute() - expected).mean() < 0.01


def test_compute_reports_progress_and_can_be_cancelled():
    rng = np.random.default_rng(8)
    image = _scratched(rng)
    labels = detection_api.lazy_labels(da.from_array(image), channel_axis=-1, method="classical", chunk=52,
                         depth=8)
    seen = []
    (result,) = blocks.compute(labels, progress=lambda d, t: seen.append((d, t)))
    assert result.shape == image.shape[:2]
    assert seen and seen[-1][0] == seen[-1][1] > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    def cancel(done, total):
        raise Cancelled

    with pytest.raises(Cancelled):
        blocks.compute(labels, progress=cancel)


def test_restore_store_and_open(tmp_path):
    pytest.importorskip("zarr")
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(9)
    image = _scratched(rng)
    tiled = tmp_path / "tiled.tif"
    tifffile.imwrite(tiled, image, tile=(32, 32), photometric="rgb")
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, image, photometric="rgb")
    for path in (tiled, plain):
        opened = images.open_lazy(path, chunk=40)
        assert isinstance(opened, da.Array)
        np.testing.assert_array_equal(opened.compute(), image)
    mended, labels = restore_module.restore(images.open_lazy(tiled), channel_axis=-1, detector="classical",
                                  fill="telea")
    paths = zarr_store.store([mended, labels], [tmp_path / "mended.zarr", tmp_path / "labels.zarr"])
    expected_labels = labels.compute()
    np.testing.assert_array_equal(images.open_lazy(paths[1]).compute(), expected_labels)
    stored = images.open_lazy(paths[0]).compute()
    assert np.array_equal(stored[expected_labels == 0], image[expected_labels == 0])
    assert (expected_labels == 1).sum() > 50
    with pytest.raises(FileExistsError):
        zarr_store.store([labels], [paths[1]])


def test_learned_fill_with_a_chosen_model(tmp_path):
    torch = pytest.importorskip("torch")
    from napari_mend.models.inpainter_net import InpainterNet
    from napari_mend.training.common import export_model

    torch.manual_seed(0)
    config = {"widths": [8, 16, 16, 24], "blocks": 1, "dilations": [1]}
    weights, _ = export_model(tmp_path, "tiny_inpainter", module=InpainterNet(**config),
                              card={"kind": "inpainter", "architecture": "inpainter_net",
                                    "config": config})
    rng = np.random.default_rng(10)
    image = _scratched(rng)
    mask = np.zeros(image.shape[:2], bool)
    mask[30:36, 20:80] = True
    out = nm.inpaint(da.from_array(image), mask, channel_axis=-1, method="learned",
                     model=str(weights))
    result = out.compute()
    assert np.array_equal(result[~mask], image[~mask])
    expected = nm.inpaint(image, mask, channel_axis=-1, method="learned", model=str(weights))
    np.testing.assert_array_equal(result, expected)  # one block: the same fill


def _cancel_after(n):
    """A progress callback that cancels once ``n`` tasks have finished."""
    def progress(done, total):
        if done >= n:
            raise Cancelled
    return progress


def test_store_is_atomic_when_cancelled(tmp_path):
    pytest.importorskip("zarr")
    rng = np.random.default_rng(11)
    image = _scratched(rng)
    labels = detection_api.lazy_labels(da.from_array(image), channel_axis=-1, method="classical", chunk=40)
    target = tmp_path / "labels.zarr"
    with pytest.raises(Cancelled):
        zarr_store.store([labels], [target], progress=_cancel_after(3))
    assert list(tmp_path.iterdir()) == []  # no array, no temporary folder
    zarr_store.store([labels], [target])
    first = images.open_lazy(target).compute()
    np.testing.assert_array_equal(first, labels.compute())
    with pytest.raises(Cancelled):
        zarr_store.store([labels * 0], [target], overwrite=True, progress=_cancel_after(3))
    np.testing.assert_array_equal(images.open_lazy(target).compute(), first)  # kept as it was
    assert [p.name for p in tmp_path.iterdir()] == ["labels.zarr"]
    with pytest.raises(ValueError, match="path of its own"):
        zarr_store.store([labels, labels], [tmp_path / "a.zarr", tmp_path / "a.zarr"])


def test_restore_to_zarr_gives_restore_results_with_provenance(tmp_path):
    zarr = pytest.importorskip("zarr")
    rng = np.random.default_rng(12)
    image = da.from_array(_scratched(rng), chunks=(48, 52, 3))
    options = {"channel_axis": -1, "detector": "classical", "fill": "telea", "chunk": 48}
    mended, labels = restore_module.restore(image, **options)
    expected_mended, expected_labels = blocks.compute(mended, labels)
    paths = restore_module.restore_to_zarr(image, tmp_path / "m.zarr", tmp_path / "l.zarr",
                                 source="scan.tif", **options)
    assert [p.name for p in paths] == ["m.zarr", "l.zarr"]
    np.testing.assert_array_equal(images.open_lazy(paths[0]).compute(), expected_mended)
    np.testing.assert_array_equal(images.open_lazy(paths[1]).compute(), expected_labels)
    assert (expected_labels > 0).sum() > 50
    for p in paths:
        record = zarr.open_array(str(p), mode="r").attrs["provenance"]
        assert record["operation"] == "restore"
        assert record["parameters"]["source"] == "scan.tif"
        assert record["parameters"]["fill"] == "telea"
    with pytest.raises(FileExistsError):
        restore_module.restore_to_zarr(image, tmp_path / "new.zarr", paths[1], **options)
    assert not (tmp_path / "new.zarr").exists()
    for n in (2, 10**6 // 2):  # cancelled while labelling, and while mending
        def late(done, total, n=n):
            if done >= min(n, total - 1):
                raise Cancelled
        with pytest.raises(Cancelled):
            restore_module.restore_to_zarr(image, tmp_path / "c.zarr", tmp_path / "cl.zarr",
                                 progress=late, **options)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["l.zarr", "m.zarr"]


def test_is_lazy_while_another_thread_imports_dask(monkeypatch):
    import sys
    import types

    # a module being imported is in sys.modules before its names exist
    monkeypatch.setitem(sys.modules, "dask.array", types.ModuleType("dask.array"))
    monkeypatch.setitem(sys.modules, "zarr", types.ModuleType("zarr"))
    assert not arrays.is_lazy(np.zeros(3))
    monkeypatch.undo()
    assert arrays.is_lazy(da.zeros(3)) and not arrays.is_lazy(np.zeros(3))


def test_store_writes_irregular_chunks_whole(tmp_path):
    pytest.importorskip("zarr")
    data = np.arange(700 * 3).reshape(700, 3)
    for chunks in (((300, 200, 200), (3,)), ((300, 200, 100, 100), (3,)), ((100, 600), (3,))):
        target = tmp_path / f"{len(chunks[0])}-{chunks[0][1]}.zarr"
        zarr_store.store([da.from_array(data, chunks=chunks)], [target])
        np.testing.assert_array_equal(images.open_lazy(target).compute(), data)


def test_reads_never_go_to_the_ambient_dask_scheduler(tmp_path):
    """Inside a task on a dask.distributed worker the ambient scheduler is the cluster's
    client, which cannot take the graphs of a task's own reads: they run on local threads."""
    import dask

    from napari_mend.io import (
        array_sha256,
        mask_summary,
        read_image_tiff,
        write_image_tiff,
    )

    def refuse(*args, **kwargs):
        raise AssertionError("the ambient scheduler was used")

    image = da.from_array(np.arange(40 * 30, dtype=np.uint16).reshape(40, 30), chunks=16)
    with dask.config.set(scheduler=refuse):
        with pytest.raises(AssertionError):
            image.compute()  # what a plain compute would do
        np.testing.assert_array_equal(arrays.materialize(image), image.compute(scheduler="sync"))
        assert array_sha256(image) == array_sha256(np.asarray(image.compute(scheduler="sync")))
        assert mask_summary(image > 600)["changed_pixels"] == 40 * 30 - 601
        write_image_tiff(tmp_path / "a.tif", image)
    np.testing.assert_array_equal(read_image_tiff(tmp_path / "a.tif")[0],
                                  image.compute(scheduler="sync"))
