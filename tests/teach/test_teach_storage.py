"""Saved taught models: identical scores after a round trip; hostile files refused."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from helpers import paint

import napari_mend as nm
from napari_mend.teaching import TaughtModelError, is_taught_file, load
from napari_mend.teaching.storage import BRANCH_ARRAYS, model_arrays


def test_round_trip_gives_identical_scores(pair, taught, tmp_path):
    _, _, second, _ = pair
    path = taught.save(tmp_path / "scratches")  # the suffix is added
    assert path.name == "scratches.mendmodel" and is_taught_file(path)
    loaded = nm.teach.load(path)
    assert loaded.card["name"] == "scratches" and len(loaded.card["sha256"]) == 64
    for key in ("strokes", "features", "classifier", "base_model", "teach_seconds"):
        assert loaded.card[key] == taught.card[key]
    np.testing.assert_array_equal(loaded.detect_scores(second).scores,
                                  taught.detect_scores(second).scores)
    # the file's path works as a model too
    np.testing.assert_array_equal(nm.detect(second, model=str(path)),
                                  nm.detect(second, model=taught))
    with pytest.raises(FileExistsError):
        taught.save(path)


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(path, parts):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def npz(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def with_forest(parts, arrays):
    forest = npz(arrays)
    card = json.loads(parts["card.json"])
    card["sha256"] = hashlib.sha256(forest).hexdigest()  # an attacker can fix the checksum
    return dict(parts, **{"forest.npz": forest, "card.json": json.dumps(card)})


@pytest.fixture
def saved(taught, tmp_path):
    return taught.save(tmp_path / "good.mendmodel")


def test_tampered_forest_fails_the_checksum(saved, tmp_path):
    parts = members(saved)
    forest = bytearray(parts["forest.npz"])
    forest[-20] ^= 1
    bad = write(tmp_path / "bad.mendmodel", dict(parts, **{"forest.npz": bytes(forest)}))
    with pytest.raises(TaughtModelError, match="sha256"):
        load(bad)


@pytest.mark.parametrize("change, match", [
    (lambda a: dict(a, left=np.where(a["left"] > 0, 10**9, a["left"])), "follow its parent"),
    (lambda a: dict(a, left=np.where(a["left"] > 0, 0, a["left"])), "follow its parent"),
    (lambda a: dict(a, feature=np.where(a["feature"] >= 0, 999, a["feature"])), "feature"),
    (lambda a: dict(a, value=-a["value"]), "non-negative"),
    (lambda a: dict(a, threshold=a["threshold"].astype("<f4")), "expected"),
    (lambda a: dict(a, classes=np.array([0, 1], object)), "unreadable|expected"),
    (lambda a: dict(a, classes=np.array([0, 9])), "classes"),
    (lambda a: {k: v for k, v in a.items() if k != "value"}, "does not hold"),
    (lambda a: dict(a, node_offsets=np.array([0, 10**8])), "tree layout"),
])
def test_hostile_forest_arrays_are_refused(saved, taught, tmp_path, change, match):
    arrays = change(model_arrays(taught))
    bad = write(tmp_path / "bad.mendmodel", with_forest(members(saved), arrays))
    with pytest.raises(TaughtModelError, match=match):
        load(bad)


@pytest.mark.parametrize("change, match", [
    (lambda a: dict(a, branch_roots=np.zeros_like(a["branch_roots"])), "repeat"),
    (lambda a: dict(a, branch_roots=a["branch_roots"] + 4), "one per label"),
    (lambda a: dict(a, branch_roots=np.array([-1, 1])), "one per label"),
    (lambda a: dict(a, branch_roots=a["branch_roots"][:1],
                    branch_trees=a["branch_trees"][[0, -1]]), "one per label"),
    (lambda a: dict(a, branch_trees=a["branch_trees"][::-1].copy()), "runs"),
    (lambda a: dict(a, branch_trees=a["branch_trees"] + 1), "runs"),
    (lambda a: dict(a, branch_trees=a["branch_trees"][:-1]), "offsets"),
    (lambda a: dict(a, support=np.array([0.0, 1.0])), "network support"),
    (lambda a: dict(a, support=np.array([0.0, -0.1])), "network support"),
    (lambda a: dict(a, support=np.array([0.05, 0.05])), "network support"),
    (lambda a: dict(a, support=np.array([0.0, np.nan])), "network support"),
    (lambda a: dict(a, support=np.zeros(3)), "network support"),
])
def test_hostile_branches_are_refused(saved, taught, tmp_path, change, match):
    assert [b.root for b in taught.branches] == [0, 1]
    arrays = change(model_arrays(taught))
    bad = write(tmp_path / "bad.mendmodel", with_forest(members(saved), arrays))
    with pytest.raises(TaughtModelError, match=match):
        load(bad)


def test_version_1_files_still_load(pair, tmp_path):
    """Files from before branches: one forest for every pixel, no branch arrays."""
    first, truth1, second, _ = pair
    model = nm.teach(first, paint(truth1), from_base=False, classifier={"n_estimators": 4})
    arrays = {k: v for k, v in model_arrays(model).items() if k not in BRANCH_ARRAYS}
    parts = with_forest(members(model.save(tmp_path / "new.mendmodel")), arrays)
    header = json.loads(parts["package.json"])
    parts["package.json"] = json.dumps(dict(header, version=1))
    old = load(write(tmp_path / "old.mendmodel", parts))
    assert [b.root for b in old.branches] == [-1]
    np.testing.assert_array_equal(old.detect_scores(second).scores,
                                  model.detect_scores(second).scores)
    for version, match in ((2, "does not hold"), (True, "version True"), (3, "version 3")):
        parts["package.json"] = json.dumps(dict(header, version=version))
        with pytest.raises(TaughtModelError, match=match):
            load(write(tmp_path / f"bad{version}.mendmodel", parts))


def test_lying_npy_header_is_refused_before_allocating(saved, taught, tmp_path):
    arrays = model_arrays(taught)
    forest = io.BytesIO()
    with zipfile.ZipFile(forest, "w") as zf:
        for key, value in arrays.items():
            raw = io.BytesIO()
            np.save(raw, value)
            data = raw.getvalue()
            if key == "value":  # claims 10**12 rows, holds a few
                data = data.replace(str(value.shape).encode(),
                                    str((10**12, value.shape[1])).encode())
            zf.writestr(f"{key}.npy", data)
    parts = members(saved)
    card = json.loads(parts["card.json"])
    card["sha256"] = hashlib.sha256(forest.getvalue()).hexdigest()
    bad = write(tmp_path / "bad.mendmodel", dict(parts, **{"forest.npz": forest.getvalue(),
                                                           "card.json": json.dumps(card)}))
    with pytest.raises(TaughtModelError, match="declares"):
        load(bad)


@pytest.mark.parametrize("edit, match", [
    (lambda c: dict(c, n_features="44"), "n_features"),
    (lambda c: dict(c, kind="detector"), "kind"),
    (lambda c: dict(c, features=dict(c["features"], sigmas=[1e9])), "feature settings"),
    (lambda c: dict(c, features=dict(c["features"], extra=1)), "feature settings"),
    (lambda c: dict(c, classifier={"type": "os.system", "params": {}}), "RandomForest"),
    (lambda c: dict(c, classifier=dict(c["classifier"], params={"n_jobs": -1, "x": 1})),
     "unknown"),
    (lambda c: dict(c, base_model=dict(c["base_model"], sha256="0" * 64)), "base model"),
    (lambda c: [c], "mapping"),
])
def test_wrong_card_types_are_refused(saved, tmp_path, edit, match):
    parts = members(saved)
    card = edit(json.loads(parts["card.json"]))
    bad = write(tmp_path / "bad.mendmodel", dict(parts, **{"card.json": json.dumps(card)}))
    with pytest.raises(TaughtModelError, match=match):
        load(bad)


def test_oversize_files_and_members_are_refused(saved, tmp_path, monkeypatch):
    parts = members(saved)
    extra = write(tmp_path / "extra.mendmodel", dict(parts, **{"evil.pkl": b"x"}))
    with pytest.raises(TaughtModelError, match="exactly"):
        load(extra)
    not_zip = tmp_path / "junk.mendmodel"
    not_zip.write_bytes(b"\x80\x04not a zip")
    with pytest.raises(TaughtModelError, match="not a taught model"):
        load(not_zip)
    assert not is_taught_file(not_zip)
    size = saved.stat().st_size
    monkeypatch.setenv("NAPARI_MEND_MAX_MODEL_BYTES", str(size - 1))
    with pytest.raises(TaughtModelError, match="NAPARI_MEND_MAX_MODEL_BYTES"):
        load(saved)
    monkeypatch.setenv("NAPARI_MEND_MAX_MODEL_BYTES", str(2**28))
    monkeypatch.setenv("NAPARI_MEND_MAX_JSON_BYTES", "16")
    with pytest.raises(TaughtModelError, match="NAPARI_MEND_MAX_JSON_BYTES"):
        load(tmp_path / "good.mendmodel")


def test_files_from_before_the_feature_choices_still_load(pair, tmp_path):
    """A card without ``network_features`` / ``tophat_shape`` / ``network_scoring`` means all 22
    network features, the approximate disks and one plain pass of the network: the features
    such files were taught on."""
    first, truth1, second, _ = pair
    old = nm.FeatureSettings(network_features="all", network_factor=2,
                             tophat_shape="disk-sequence")
    model = nm.teach(first[:96, :96], paint(truth1[:96, :96]), features=old,
                     classifier={"n_estimators": 4})
    path = model.save(tmp_path / "old.mendmodel")
    parts = members(path)
    card = json.loads(parts["card.json"])
    assert card["features"]["network_scoring"] == "plain"
    del card["features"]["network_features"], card["features"]["tophat_shape"]
    del card["features"]["network_scoring"]
    legacy = write(tmp_path / "legacy.mendmodel", dict(parts, **{"card.json": json.dumps(card)}))
    loaded = load(legacy)
    assert loaded.settings == old and loaded.n_features == 44
    np.testing.assert_array_equal(loaded.detect_scores(second[:64, :64]).scores,
                                  model.detect_scores(second[:64, :64]).scores)
    for key, value in (("network_features", "hidden"), ("tophat_shape", ["disk"]),
                       ("network_scoring", "fast")):
        card["features"][key] = value
        bad = write(tmp_path / "bad.mendmodel", dict(parts, **{"card.json": json.dumps(card)}))
        with pytest.raises(TaughtModelError, match="feature settings"):
            load(bad)
        del card["features"][key]


@pytest.mark.parametrize("settings", [
    dict(network=False), dict(tophat_shape="square"), dict(network_features="all"),
    dict(network_factor=2)])
def test_feature_variants_give_their_feature_count(pair, settings):
    from napari_mend.teaching.features import feature_names, pixel_features

    first = pair[0][:80, :80, None]
    features = nm.FeatureSettings(**settings)
    out = pixel_features(first, features)
    assert out.shape == (len(feature_names(features, 1)), 80, 80)
    assert np.isfinite(out).all()


def test_a_support_without_the_networks_decisions_is_refused(pair, tmp_path):
    first, truth1, _, _ = pair
    model = nm.teach(first, paint(truth1), from_base=False, classifier={"n_estimators": 4})
    saved = model.save(tmp_path / "alone.mendmodel")
    arrays = dict(model_arrays(model), support=np.array([0.0, 0.05]))
    bad = write(tmp_path / "bad.mendmodel", with_forest(members(saved), arrays))
    with pytest.raises(TaughtModelError, match="without reading its decisions"):
        load(bad)
