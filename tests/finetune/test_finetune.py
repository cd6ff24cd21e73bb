"""Fine-tuning: region split, marked regions avoided, saved model, cancel and continue."""

import json
import shutil

import numpy as np
import pytest

from napari_mend.detection.api import detect_scores
from napari_mend.finetune import NotEnoughImages, finetune, has_checkpoint, prepare_images
from napari_mend.finetune.data import crop_origins, split_regions
from napari_mend.models import registry
from napari_mend.progress import Cancelled

from .conftest import TINY


def test_crop_origins_keep_windows_inside_the_allowed_pixels():
    allowed = np.ones((40, 50), bool)
    allowed[10:14, 20:22] = False
    origins = crop_origins(allowed, 16, stride=1)
    assert len(origins)
    for r, c in origins:
        assert allowed[r:r + 16, c:c + 16].all()
    assert [0, 0] in origins.tolist() and [24, 34] in origins.tolist()
    assert len(crop_origins(allowed[:10], 16)) == 0


def test_split_by_region_and_marked_defects_avoided(domain_images):
    gray, rgb = domain_images
    marked = np.zeros(gray.shape, np.uint8)
    marked[20:60, 30:90] = 3
    domain = prepare_images([gray, rgb], masks=[marked, None], crop=32)
    assert [d.channels for d in domain] == [1, 3]  # mixed channel counts kept
    assert all(d.image.dtype == np.float32 and 0 <= d.image.min() <= d.image.max() <= 1
               for d in domain)
    held = split_regions(gray.shape, holdout=0.25, crop=32)
    assert held[-1].all() and not held[0].any()
    for part, inside in (("finetune", ~held), ("heldout", held)):
        for r, c in domain[0].origins[part]:
            window = (slice(r, r + 32), slice(c, c + 32))
            assert inside[window].all()  # never straddles the parts
            assert not marked[window].any()  # never touches a marked defect
    assert np.array_equal(gray, domain_images[0])  # input untouched


def test_stacks_and_rgba_count_plane_by_plane():
    rng = np.random.default_rng(0)
    stack = rng.random((3, 140, 70)).astype(np.float32)
    rgba = rng.integers(0, 255, (140, 70, 4), dtype=np.uint8)
    domain = prepare_images([stack, rgba], crop=64)
    assert [d.name for d in domain] == ["image 0 plane 0", "image 0 plane 1", "image 0 plane 2",
                                        "image 1"]
    assert domain[-1].channels == 3  # alpha dropped


def test_too_few_images_says_how_many_are_needed(tmp_path):
    rng = np.random.default_rng(1)
    with pytest.raises(NotEnoughImages, match=r"at least 2 image\(s\) of at least 128 x 64 px"):
        prepare_images([rng.random((200, 100)), rng.random((60, 60))], crop=64, min_images=2)
    with pytest.raises(NotEnoughImages, match=r"at least 1 image\(s\).*got 0 usable of 0"):
        prepare_images([], crop=64)
    with pytest.raises(NotEnoughImages, match="holds no images"):
        prepare_images(tmp_path, crop=64)


def test_too_few_images_for_finetune(model_dir):
    with pytest.raises(NotEnoughImages, match="at least 1 image"):
        finetune("detector", [np.zeros((50, 50), np.uint8)], name="nothing", **TINY)
    assert not (model_dir / "nothing.json").exists()


def test_detector_finetune_saves_a_listed_model(model_dir, domain_images):
    events = []
    result = finetune("detector", domain_images, name="cells-detector", seed=1,
                      on_event=events.append, **TINY)
    card = registry.model_card("cells-detector")
    assert card["kind"] == "detector" and card["base_model"]["name"] == "detector"
    assert card["finetune"]["steps"] == 2 and card["finetune"]["channels"] == [1, 3]
    assert card["finetune"]["before"]["f1_mean"] == result.before["f1_mean"]
    # also measured on held-out crops damaged by the independent generator (reporting only)
    theirs = result.after["independent"]
    assert theirs["crops"] == 2 and 0 <= theirs["f1_mean"] <= 1
    assert card["finetune"]["after"]["independent"] == theirs
    assert set(card["thresholds"]) == set(registry.model_card("detector")["thresholds"])
    assert [e["event"] for e in events][:2] == ["start", "before"]
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2]
    assert events[-1]["event"] == "saved" and not has_checkpoint("cells-detector")
    names = [c["name"] for c in registry.list_models("detector")]
    assert "detector" in names and "cells-detector" in names
    loaded = registry.get_model("cells-detector", device="cpu")
    assert loaded.card["sha256"] == registry.sha256_of(model_dir / "cells-detector.pt")

    scores = detect_scores(domain_images[0][:64, :64], model="cells-detector")
    assert scores.scores.shape == (6, 64, 64) and scores.model["name"] == "cells-detector"


def test_existing_name_is_not_replaced_without_overwrite(model_dir, domain_images):
    (model_dir / "taken.json").write_text("{}")
    with pytest.raises(FileExistsError, match="taken"):
        finetune("inpainter", domain_images, name="taken", **TINY)
    with pytest.raises(ValueError, match="shipped"):
        finetune("inpainter", domain_images, name="inpainter", **TINY)
    with pytest.raises(ValueError, match="is a detector, not a inpainter"):
        finetune("inpainter", domain_images, from_model="detector", name="x", **TINY)


def test_cancel_keeps_the_previous_model_and_continue_finishes(model_dir, domain_images):
    card = dict(registry.model_card("inpainter"), name="cells-fill")  # an installed user model
    shutil.copy(registry.WEIGHTS_DIR / "inpainter.pt", model_dir / "cells-fill.pt")
    (model_dir / "cells-fill.json").write_text(json.dumps(card))
    previous = ((model_dir / "cells-fill.pt").read_bytes(),
                (model_dir / "cells-fill.json").read_text())

    calls = []

    def stop_after_two_steps(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        finetune("inpainter", domain_images, name="cells-fill", overwrite=True,
                 progress=stop_after_two_steps, **{**TINY, "max_steps": 4})
    assert (model_dir / "cells-fill.pt").read_bytes() == previous[0]  # untouched
    assert (model_dir / "cells-fill.json").read_text() == previous[1]
    assert has_checkpoint("cells-fill")
    with pytest.raises(FileExistsError, match="stopped fine-tuning run"):
        finetune("inpainter", domain_images, name="cells-fill", **TINY)

    events = []
    result = finetune("inpainter", domain_images, name="cells-fill", resume=True,
                      on_event=events.append, **{**TINY, "max_steps": 4})
    assert events[0]["resumed"] and events[0]["step"] == 2
    assert [step for step, _ in result.history] == [1, 2, 3, 4]
    assert result.card["finetune"]["steps"] == 4
    assert (model_dir / "cells-fill.pt").read_bytes() != previous[0]
    assert json.loads((model_dir / "cells-fill.json").read_text())["sha256"] != \
        json.loads(previous[1])["sha256"]
    assert not has_checkpoint("cells-fill")


def test_continue_needs_a_stopped_run_with_the_same_settings(model_dir, domain_images):
    with pytest.raises(FileNotFoundError, match="no stopped fine-tuning run"):
        finetune("detector", domain_images, name="never-started", resume=True, **TINY)


def test_tampered_base_model_is_a_clear_error(model_dir, domain_images):
    card = dict(registry.model_card("detector"), name="to-tamper")
    (model_dir / "to-tamper.json").write_text(json.dumps(card))
    weights = model_dir / "to-tamper.pt"
    weights.write_bytes((registry.WEIGHTS_DIR / "detector.pt").read_bytes()[:-8] + b"tampered")
    registry.clear_cache()
    with pytest.raises(registry.ModelError, match="tampered"):
        finetune("detector", domain_images, from_model="to-tamper", name="from-tampered", **TINY)
