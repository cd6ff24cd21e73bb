"""The inpainter evaluation's table and command line."""

import pytest

from napari_mend.evaluation import inpainter as evaluation


def _entry(psnr):
    return {"psnr_mask": psnr, "ssim_mask": 0.5, "psnr_bbox": psnr + 5, "ssim_bbox": 0.8,
            "s_per_mp": 1.0, "coverage": 0.1}


def test_table_compares_learned_with_the_best_classical_fill_evaluated():
    results = {"blotch": {"learned": _entry(19.0), "telea": _entry(18.0), "ns": _entry(17.5)}}
    table = evaluation.markdown_table(results, ("learned", "telea", "ns"))
    assert "| blotch | 10.0% | learned | 19.00 (+1.00) |" in table


def test_table_of_the_learned_fill_alone_has_no_comparison():
    results = {"blotch": {"learned": _entry(19.0)}}
    table = evaluation.markdown_table(results, ("learned",))
    assert "| blotch | 10.0% | learned | 19.00 | 0.500 |" in table


def test_unknown_method_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluation.main(["--methods", "learned,lama"])
    assert exit_info.value.code == 2
    assert "unknown methods lama; choose among learned, auto, telea" in capsys.readouterr().err


def test_training_images_are_refused_for_the_card(capsys):
    with pytest.raises(SystemExit):
        evaluation.main(["--split", "train", "--write-card"])
    assert "leave out --split train" in capsys.readouterr().err


def test_cases_come_from_the_split_asked_for():
    from napari_mend.synthesis import corpus_images

    val = {name for name, _ in corpus_images("val")}
    for split in ("val", "train"):
        cases = evaluation.evaluation_cases(per_family=1, split=split)
        assert len(cases) == 6 and all(c["clean"].shape[:2] == (256, 256) for c in cases)
        assert all((c["image"] in val) == (split == "val") for c in cases)
