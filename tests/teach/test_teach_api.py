"""teach(): the contract (shapes, dtypes, channel_axis, bad input) and what it learns."""

import numpy as np
import pytest

import napari_mend as nm
from napari_mend import CLEAN_LABEL
from napari_mend.teaching import FeatureSettings, TaughtModel
from napari_mend.teaching.model import NETWORK_SUPPORT

from helpers import paint, scratched

FAST = FeatureSettings(sigmas=(1, 4), tophat_radii=(2,), network=False)


def test_public_names():
    assert CLEAN_LABEL == 7 and CLEAN_LABEL not in nm.DEFECT_CLASSES
    assert "teach" in nm.__all__ and "CLEAN_LABEL" in nm.__all__
    assert nm.teach.load is nm.teach.TaughtModel.save.__globals__.get("load", nm.teach.load)


def test_taught_finds_the_rest_of_the_scratches(pair, taught):
    first, truth1, second, truth2 = pair
    assert isinstance(taught, TaughtModel) and taught.classes == [1]
    assert taught.card["strokes"]["scratch"] > 0 and taught.card["strokes"]["clean"] > 0
    assert taught.card["base_model"]["name"] == "detector"
    labels = nm.detect(second, model=taught)
    assert labels.dtype == np.uint8 and labels.shape == second.shape
    found = labels == 1
    recall = (found & truth2).sum() / truth2.sum()
    precision = (found & truth2).sum() / max(found.sum(), 1)
    assert recall > 0.6 and precision > 0.3, (recall, precision)
    # nothing taught (the shipped detector, zero-shot) does worse on these scratches
    zero_shot = nm.detect(second) == 1

    def f1(found):
        return 2 * (found & truth2).sum() / (found.sum() + truth2.sum())

    assert f1(found) > f1(zero_shot) + 0.1, (f1(found), f1(zero_shot))
    scores = nm.detect_scores(second, model=taught)
    assert scores.scores.shape == (6,) + second.shape and scores.method == "taught"
    assert not scores.scores[1:].any()  # classes not taught score 0


def test_restore_with_a_taught_detector(pair, taught):
    _, _, second, truth2 = pair
    mended, labels = nm.restore(second, detector=taught, fill="telea")
    assert mended.dtype == second.dtype and mended.shape == second.shape
    assert np.array_equal(mended[labels == 0], second[labels == 0])
    assert (labels[truth2] == 1).mean() > 0.5


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channel_axis", [None, -1, 0])
def test_contract_dtypes_and_channel_axis(pair, dtype, channel_axis):
    first, truth1, second, _ = pair
    scale = {np.uint8: 1, np.uint16: 257, np.float32: 1 / 255}[dtype]

    def convert(image):
        out = (image.astype(np.float64) * scale).astype(dtype)
        if channel_axis is not None:
            out = np.moveaxis(np.stack([out, out, out], axis=-1), -1, channel_axis)
        return out

    image, before = convert(first), None
    before = image.copy()
    strokes = np.zeros(truth1.shape, np.uint8)
    strokes[truth1] = 1
    strokes[::7, ::7][~truth1[::7, ::7]] = CLEAN_LABEL
    model = nm.teach(image, strokes, channel_axis=channel_axis, features=FAST)
    np.testing.assert_array_equal(image, before)  # inputs never modified
    assert model.card["n_color"] == (1 if channel_axis is None else 3)
    labels = nm.detect(convert(second), channel_axis=channel_axis, model=model)
    assert labels.shape == second.shape and labels.dtype == np.uint8
    # a stack: leading plane axis, one strokes plane per image plane
    if channel_axis in (None, -1):
        stack = np.stack([image, image])
        model = nm.teach(stack, np.stack([strokes, strokes]), channel_axis=channel_axis,
                         features=FAST)
        scores = nm.detect_scores(stack, channel_axis=channel_axis, model=model)
        assert scores.scores.shape == (2, 6) + second.shape


def two_class_strokes(pair):
    """Strokes on both images: the first's scratches as scratches, the second's called dust
    (two classes), and a clean corner on each."""
    _, truth1, _, truth2 = pair
    s1 = np.zeros(truth1.shape, np.uint8)
    s1[truth1] = 1
    s1[:20, :20] = CLEAN_LABEL
    s2 = np.zeros(truth2.shape, np.uint8)
    s2[truth2] = 2
    s2[-20:, -20:] = CLEAN_LABEL
    return [s1, s2]


def test_several_images_and_classes(pair):
    first, _, second, _ = pair
    model = nm.teach([first, second], two_class_strokes(pair), features=FAST)
    assert model.classes == [1, 2] and model.card["images"] == 2
    assert set(model.card["classes"].values()) == {"scratch", "dust"}


@pytest.mark.parametrize("strokes, error, match", [
    (lambda t: np.zeros(t.shape, np.uint8), ValueError, "mark no pixels"),
    (lambda t: t.astype(np.uint8), ValueError, "no clean strokes"),
    (lambda t: np.where(t, 0, CLEAN_LABEL).astype(np.uint8), ValueError, "only clean"),
    (lambda t: np.full(t.shape, 9, np.uint8), ValueError, "hold the values"),
    (lambda t: np.zeros((5, 5), np.uint8), ValueError, "shape"),
    (lambda t: t.astype(np.float32), TypeError, "integer Labels"),
])
def test_bad_strokes(pair, strokes, error, match):
    first, truth1, _, _ = pair
    with pytest.raises(error, match=match):
        nm.teach(first, strokes(truth1), features=FAST)


def test_bad_input(pair):
    first, truth1, second, _ = pair
    strokes = np.where(truth1, 1, CLEAN_LABEL).astype(np.uint8)
    with pytest.raises(ValueError, match="one strokes array per image"):
        nm.teach([first, second], [strokes], features=FAST)
    with pytest.raises(ValueError, match="mix gray and colour"):
        nm.teach([first[..., None], np.stack([second] * 3, -1)], [strokes, strokes], channel_axis=-1,
                 features=FAST)
    with pytest.raises(TypeError, match="dtype"):
        nm.teach(first.astype(np.int64), strokes, features=FAST)
    model = nm.teach(first, strokes, features=FAST)
    with pytest.raises(ValueError, match="gray"):
        nm.detect(np.stack([second] * 3, -1), channel_axis=-1, model=model)
    with pytest.raises(ValueError, match="replaces the learned detector"):
        nm.detect_scores(second, method="classical", model=model)


def test_a_taught_model_runs_over_dask_blocks_like_in_memory(pair, taught):
    """Blocks see 64 px of their neighbours and the plane's own intensity range, so a large
    image restored block by block is scored like the whole plane (up to the network features
    near block edges: the network sees farther than the margin)."""
    da = pytest.importorskip("dask.array")
    _, _, second, truth2 = pair
    whole = nm.detect_scores(second, model=taught)
    blocks = nm.detect_scores(da.from_array(second, chunks=96), model=taught)
    assert isinstance(blocks.scores, da.Array) and blocks.method == "taught"
    lazy = blocks.scores.compute()
    assert lazy.shape == whole.scores.shape
    found, expected = blocks.labels().compute() == 1, whole.labels() == 1
    assert expected.sum() > 100 and (found & expected).sum() / (found | expected).sum() > 0.98
    labels = nm.detect(da.from_array(second, chunks=96), model=taught).compute()
    recall = (whole.labels() == 1)[truth2].mean()
    assert recall > 0.5 and abs((labels == 1)[truth2].mean() - recall) < 0.1
    mended, found = nm.restore(da.from_array(second, chunks=96), detector=taught,
                               fill="biharmonic", chunk=96)
    mended, found = mended.compute(), found.compute()
    keep = found == 0
    np.testing.assert_array_equal(mended[keep], second[keep])


def network_scratch_score(image):
    """The base network's calibrated scratch score at every pixel (as teach's features hold it)."""
    from napari_mend.teaching.features import pixel_features

    return pixel_features(image[..., None], FeatureSettings())[-6]


def test_features_only_computes_the_groups_asked_for(pair):
    from napari_mend.teaching.features import feature_names, pixel_features

    plane = pair[0][..., None]
    full = pixel_features(plane, FAST)
    names = feature_names(FAST, 1)
    white = names.index("white_tophat_2")
    part = pixel_features(plane, FAST, only=[white])
    group = [white, names.index("black_tophat_2")]  # computed together
    np.testing.assert_array_equal(part[group], full[group])
    rest = np.setdiff1d(np.arange(len(names)), group)
    assert full[rest].any() and not part[rest].any()
    np.testing.assert_array_equal(pixel_features(plane, FAST, only=range(len(names))), full)


def test_strokes_that_agree_with_the_network_keep_its_scores(pair, tmp_path, monkeypatch):
    from scipy import ndimage as ndi

    first, truth1, second, _ = pair
    found = network_scratch_score(first) >= 0.5
    strokes = np.zeros(first.shape, np.uint8)
    strokes[found & truth1] = 1
    strokes[::2, ::2][~ndi.binary_dilation(truth1 | found, iterations=2)[::2, ::2]] = CLEAN_LABEL
    model = nm.teach(first, strokes)
    assert model.card["from_base"] and [b.forest for b in model.branches] == [None, None]
    assert [b["scored_by"] for b in model.card["branches"]] == ["base network"] * 2
    assert model.how_taught() == "the network's decisions: every stroke agrees with them"
    expected = network_scratch_score(second).astype(np.float16)
    from napari_mend.teaching import features

    def not_read(*args):
        def task():
            raise AssertionError("a filter group no tree reads was computed")
        return task

    with monkeypatch.context() as patch:  # no forest reads the filter banks: only the network runs
        patch.setattr(features, "_gaussian_task", not_read)
        patch.setattr(features, "_tophat_task", not_read)
        scores = nm.detect_scores(second, model=model).scores
    np.testing.assert_array_equal(scores[0], expected)
    assert not scores[1:].any()
    # a model without any forest is saved and read back as well
    np.testing.assert_array_equal(
        nm.teach.load(model.save(tmp_path / "agree")).detect_scores(second).scores, scores)
    # on the strokes alone, one forest decides everywhere
    alone = nm.teach(first, strokes, from_base=False)
    assert [b.root for b in alone.branches] == [-1] and alone.branches[0].forest is not None
    assert alone.how_taught() == "one forest fitted to the strokes alone"


def test_clean_strokes_on_the_networks_false_alarms_remove_them():
    from scipy import ndimage as ndi
    from skimage import data

    # a crop of the camera image on which the network takes some content for scratches
    first, truth1 = scratched(data.camera()[:192, 256:448], 1)
    found = network_scratch_score(first) >= 0.5
    near = ndi.binary_dilation(truth1, iterations=2)
    false_alarms = found & ~near
    assert false_alarms.sum() > 30  # the network's own mistakes on this image
    strokes = np.zeros(first.shape, np.uint8)
    strokes[found & truth1] = 1
    strokes[::2, ::2][~(near | found)[::2, ::2]] = CLEAN_LABEL
    strokes[false_alarms] = CLEAN_LABEL  # "these are not scratches"
    model = nm.teach(first, strokes)
    assert [b["scored_by"] for b in model.card["branches"]] == ["base network", "forest"]
    assert model.how_taught() == ("the strokes correct the network where it finds scratch; "
                                  "its decisions kept where it finds clean; scratch given only "
                                  "where the network scores it at least 0.05")
    labels = nm.detect(first, model=model)
    assert (labels[false_alarms] == 0).mean() > 0.9
    assert (labels[found & truth1] == 1).mean() > 0.9
    # where the network finds no scratch, and the strokes agree, its scores are kept
    kept = nm.detect_scores(first, model=model).scores[0][~found]
    np.testing.assert_array_equal(kept, network_scratch_score(first)[~found].astype(np.float16))


def test_from_base_needs_the_network(pair):
    first, truth1, _, _ = pair
    strokes = np.where(truth1, 1, CLEAN_LABEL).astype(np.uint8)
    with pytest.raises(ValueError, match="from_base=False"):
        nm.teach(first, strokes, features=FAST, from_base=True)
    assert nm.teach(first, strokes, features=FAST).branches[0].root == -1


def test_from_base_with_several_classes_and_images(pair, tmp_path):
    """Two classes on two images: one part per decision of the network among them."""
    first, _, second, truth2 = pair
    model = nm.teach([first, second], two_class_strokes(pair))
    assert model.classes == [1, 2] and [b.root for b in model.branches] == [0, 1, 2]
    # the network supports the scratches as scratches, not as "dust": only "dust" is free
    assert model.support == (0.0, NETWORK_SUPPORT, 0.0)
    assert model.card["network_support"] == {"scratch": NETWORK_SUPPORT}
    assert [b["base_decision"] for b in model.card["branches"]] == ["clean", "scratch", "dust"]
    labels = nm.detect(second, model=model)
    assert (labels[truth2] == 2).mean() > 0.5 and not np.isin(labels, [3, 4, 5, 6]).any()
    again = nm.teach.load(model.save(tmp_path / "two"))
    np.testing.assert_array_equal(again.detect_scores(first).scores,
                                  model.detect_scores(first).scores)


def test_when_the_network_knows_a_class_on_its_strokes():
    """Known: scored at least NETWORK_SUPPORT on a tenth of its strokes (SUPPORTED_SHARE), and
    at most half of them called another taught class."""
    from napari_mend.teaching.model import SUPPORTED_SHARE, network_knows

    strokes = np.zeros((100, 3), np.float32)  # features: this class's score, another's, a filter
    strokes[:, 2] = 0.9  # not a score: never a rival
    scored = int(100 * SUPPORTED_SHARE)
    strokes[:scored - 1, 0] = NETWORK_SUPPORT
    assert not network_knows(strokes, 0, [0, 1])  # scored on just under the share
    strokes[:scored, 0] = NETWORK_SUPPORT
    assert network_knows(strokes, 0, [0, 1]) and network_knows(strokes, 0, [0])
    strokes[:51, 1] = 0.6  # another taught class, above this one, on most strokes
    assert not network_knows(strokes, 0, [0, 1])
    assert network_knows(strokes, 0, [0])  # not taught: no rival
    strokes[:51, 0] = 0.7  # this class scores higher still
    assert network_knows(strokes, 0, [0, 1])
    strokes[:51, 0], strokes[50, 1] = NETWORK_SUPPORT, 0.0  # the rival on exactly half
    assert network_knows(strokes, 0, [0, 1])


def test_a_class_the_network_supports_is_given_only_where_it_does(pair, taught):
    """The scratches' strokes are mostly where the network gives scratches some score: the
    taught scratches stay within that support; the strokes alone have no such limit."""
    _, _, second, truth2 = pair
    assert taught.support == (0.0, NETWORK_SUPPORT)
    scores = taught.detect_scores(second).scores[0].astype(np.float32)
    network = network_scratch_score(second)
    assert not scores[network < NETWORK_SUPPORT].any()
    assert (scores[truth2] >= 0.5).mean() > 0.6  # what the network supports is found
    first, truth1 = pair[:2]

    alone = nm.teach(first, paint(truth1), from_base=False)
    assert alone.support == (0.0, 0.0) and "network_support" in alone.card


def test_forests_limited_to_the_support_run_only_there(pair, taught, monkeypatch):
    """Where every class a forest gives is limited to the network's support, the forest runs
    only where the network supports one, and the scores are those of the forest run on every
    pixel and then limited."""
    _, _, second, _ = pair
    forest = taught.branches[0].forest
    assert taught.branches[0].root == 0 and forest is not None
    rows = []
    predict_proba = forest.predict_proba
    monkeypatch.setattr(forest, "predict_proba", lambda x: rows.append(len(x)) or predict_proba(x))
    limited = taught.detect_scores(second).scores[0]
    network = network_scratch_score(second)
    assert 0 < sum(rows) <= np.count_nonzero(network >= NETWORK_SUPPORT)
    unlimited = TaughtModel(taught.branches, taught.labels, taught.settings, taught.card,
                            support=(0.0, 0.0)).detect_scores(second).scores[0]
    assert sum(rows) > 0.9 * second.size  # unlimited: the clean part's forest ran everywhere
    expected = np.where(network < NETWORK_SUPPORT, np.float16(0), unlimited)
    np.testing.assert_array_equal(limited, expected)


@pytest.mark.parametrize("sigmas", [(1.0, 2.0, 4.0, 8.0), (0.7, 3.0)])
def test_gaussian_features_are_scikit_images_own(pair, sigmas):
    """The filter-bank planes equal skimage.feature.multiscale_basic_features to the bit, so
    models saved before the features were written plane by plane predict as they did."""
    from skimage.feature import multiscale_basic_features

    from napari_mend.teaching.features import feature_names, normalised_gray, pixel_features

    plane = pair[0][:96, :80, None]
    settings = FeatureSettings(sigmas=sigmas, tophat_radii=(2,), network=False)
    out = pixel_features(plane, settings)
    gray, _ = normalised_gray(plane)
    names = feature_names(settings, 1)
    for s in sigmas:
        theirs = multiscale_basic_features(gray, sigma_min=s, sigma_max=s, num_sigma=1)
        first = names.index(f"gauss_{s:g}")
        np.testing.assert_array_equal(np.moveaxis(out[first:first + 4], 0, -1), theirs)


@pytest.mark.parametrize("with_opencv", [True, False])
def test_disk_tophats_are_scikit_images_own(pair, monkeypatch, with_opencv):
    """The exact-disk top-hats equal scikit-image's (disks decomposed into crosses) to the bit,
    computed with OpenCV where it is installed and with scikit-image where it is not."""
    from skimage.morphology import black_tophat, disk, white_tophat

    from napari_mend.teaching import features

    if with_opencv:
        pytest.importorskip("cv2")
    else:
        monkeypatch.setattr(features, "opencv", lambda: None)
    rng = np.random.default_rng(5)
    plane = pair[0][:90, :70, None] + rng.normal(0, 0.05, (90, 70, 1)).astype(np.float32)
    settings = FeatureSettings(sigmas=(1,), tophat_radii=(1, 2, 4, 8, 13), network=False)
    out = features.pixel_features(plane, settings)
    gray, _ = features.normalised_gray(plane)
    names = features.feature_names(settings, 1)
    for r in settings.tophat_radii:
        footprint = disk(r, decomposition="crosses")
        np.testing.assert_array_equal(out[names.index(f"white_tophat_{r}")],
                                      white_tophat(gray, footprint))
        np.testing.assert_array_equal(out[names.index(f"black_tophat_{r}")],
                                      black_tophat(gray, footprint))


def test_the_network_scores_are_the_detectors_own(pair):
    """By default teach reads the network's scores exactly as the detector gives them (its tiles,
    half-size pass and moire check), so a model taught from the network's decisions starts from
    the decisions the curator saw; ``'plain'`` (older files) is one pass in large tiles."""
    from napari_mend.detection.learned import learned_scores
    from napari_mend.teaching.features import pixel_features

    plane = np.concatenate([pair[0], pair[2]], axis=1)[..., None]  # wider than one tile
    assert FeatureSettings().network_scoring == "detector"
    ours = pixel_features(plane, FeatureSettings())[-6:]
    np.testing.assert_array_equal(ours, learned_scores(plane))
    plain = pixel_features(plane, FeatureSettings(network_scoring="plain"))[-6:]
    assert not np.array_equal(plain, ours)
    assert FeatureSettings(network_factor=2).network_scoring == "plain"
    with pytest.raises(ValueError, match="network_scoring='plain'"):
        FeatureSettings(network_features="all", network_scoring="detector")


def test_strokes_in_a_corner_see_the_whole_planes_detector_scores(pair, monkeypatch):
    """Teach computes the filter banks on a crop around the strokes, but the detector's scores
    depend on the whole plane (its half-size pass looks beyond a crop): the strokes get the
    scores the taught model will see at those pixels when it scores the plane."""
    from napari_mend.detection.learned import learned_scores
    from napari_mend.teaching import api

    first, truth1, second, _ = pair
    plane = np.block([[first, second], [second, first]])
    strokes = np.zeros(plane.shape, np.uint8)
    strokes[:first.shape[0], :first.shape[1]] = paint(truth1)
    strokes[40:, :] = 0  # strokes in the top rows only: a crop of part of the plane
    assert (strokes == 1).any() and (strokes == CLEAN_LABEL).any()
    seen = []
    real = api.pixel_features

    def spy(crop, settings, **options):
        seen.append((crop.shape, options.get("network_scores")))
        return real(crop, settings, **options)

    monkeypatch.setattr(api, "pixel_features", spy)
    nm.teach(plane, strokes, classifier={"n_estimators": 4})
    (shape, scores), = seen
    assert shape[0] < plane.shape[0]  # a crop
    whole = learned_scores(plane[..., None])
    np.testing.assert_array_equal(scores, whole[:, :shape[0], :shape[1]])
