"""Calibration of the ``auto`` fill: which groups go to a classical fill, and the rim width."""

import json

import numpy as np
import pytest

from napari_mend.evaluation.inpainter import CHEAPER_WITHIN, choose_rule


def _errors(learned_by_width, classical):
    """Per-group errors: columns the learned fill at each rim width, then the classical fill."""
    return np.column_stack([*learned_by_width, classical])


def test_the_rim_width_of_least_error_is_chosen():
    radii = np.array([1.0, 2.0, 10.0, 20.0])
    classical = np.array([1.0, 1.0, 5.0, 9.0])
    plain = np.array([2.0, 2.0, 3.0, 4.0])
    mixed = np.array([1.5, 1.5, 2.0, 3.0])  # the rim mixed: better on every group
    total, rules, width = choose_rule(radii, _errors([plain, mixed], classical),
                                      ["biharmonic"], [0.0, 8.0])
    assert width == 8.0
    assert rules == [[2.0, "biharmonic"]]  # the thin groups: the classical fill is better there
    assert total == pytest.approx(1.0 + 1.0 + 2.0 + 3.0)


def test_a_classical_fill_is_kept_where_the_network_gains_almost_nothing():
    radii = np.array([1.0, 2.0, 10.0])
    learned = np.array([0.99, 0.99, 1.0])
    classical = np.array([1.0, 1.0, 3.0])
    # learned everywhere is 0.7 % better than biharmonic up to radius 2: within CHEAPER_WITHIN
    assert (0.02 / 3.0) < CHEAPER_WITHIN
    _, rules, _ = choose_rule(radii, _errors([learned], classical), ["biharmonic"], [0.0])
    assert rules == [[2.0, "biharmonic"]]
    # ... but a clear gain goes to the network
    _, rules, _ = choose_rule(radii, _errors([learned * 0.5], classical), ["biharmonic"], [0.0])
    assert rules == []


def test_smooth_max_sends_the_smooth_groups_that_gain():
    from napari_mend.evaluation.inpainter import choose_smooth_max

    roughness = np.array([0.01, 0.02, 0.03, 0.5, np.inf])
    learned = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    # the two smoothest gain, the third loses a little, the rough one would gain but is
    # beyond a group that loses a lot
    smooth = np.array([0.1, 0.2, 2.0, 0.1, 0.0])
    change, cut = choose_smooth_max(roughness, learned, smooth)
    assert cut == 0.02 and change == pytest.approx(-1.7)
    # nothing to gain: no threshold
    assert choose_smooth_max(roughness, learned, learned + 0.1) == (0.0, None)
    assert choose_smooth_max(np.zeros(0), np.zeros(0), np.zeros(0)) == (0.0, None)
    # the least error, not a cheaper threshold that loses a little
    change, cut = choose_smooth_max(roughness[:3], learned[:3], np.array([0.1, 0.2, 1.001]))
    assert cut == 0.02
    # of equal errors, the larger threshold
    change, cut = choose_smooth_max(roughness[:3], learned[:3], np.array([0.1, 0.2, 1.0]))
    assert cut == 0.03 and change == pytest.approx(-1.7)


def test_calibrate_auto_on_validation_cases(tmp_path):
    torch = pytest.importorskip("torch")
    from napari_mend.evaluation.inpainter import calibrate_auto
    from napari_mend.models.inpainter_net import InpainterNet
    from napari_mend.training.common import export_model

    torch.manual_seed(0)
    config = {"widths": [8, 16, 16, 24], "blocks": 1, "dilations": [1]}
    card = {"kind": "inpainter", "architecture": "inpainter_net", "config": config}
    weights, _ = export_model(tmp_path, "tiny", module=InpainterNet(**config), card=card)
    result = calibrate_auto(model=str(weights), crop=64, per_family=1, rim_widths=(0.0, 6.0))
    json.dumps(result)
    assert result["rim_width"] in (0.0, 6.0) and result["rim_widths"] == [0.0, 6.0]
    assert result["smooth_max"] is None or result["smooth_max"] >= 0
    assert 0 <= result["smooth_groups"] <= result["thick_groups"] <= result["groups"]
    assert result["case_mse"]["auto"] <= result["case_mse"]["rules only"] * (1 + CHEAPER_WITHIN)
    assert result["groups"] > 0
    assert result["case_mse"]["auto"] <= min(result["case_mse"].values()) * (1 + CHEAPER_WITHIN)
    for max_radius, method in result["rules"]:
        assert max_radius > 0 and method in ("biharmonic", "telea")
