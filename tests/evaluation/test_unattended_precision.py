"""Choosing what an unattended restore mends: thresholds from the own images, a gate from the
independent generator."""

import numpy as np

from napari_mend.classes import N_SCORED
from napari_mend.evaluation import unattended_precision as up


def test_detections_are_counted_per_class_and_threshold_with_clean_false_alarms():
    truth = np.zeros((N_SCORED, 4, 4), bool)
    truth[0, :2] = True  # scratch in the top half

    def score(plane):
        s = np.zeros((N_SCORED, 4, 4), np.float32)
        s[0, :3] = 0.6  # one row too many
        s[0, :1] = 0.9
        return s

    counts = up.count_detections([("damaged", np.zeros((4, 4)), truth),
                                  ("clean", np.zeros((4, 4)), None)], score,
                                 thresholds=(0.5, 0.8))
    assert counts.shape == (2, N_SCORED, 3)
    # at 0.5: 8 true, 4 false on the damaged image and 12 on the clean one; at 0.8: the top row
    assert counts[0, 0].tolist() == [8, 4 + 12, 0]
    assert counts[1, 0].tolist() == [4, 4, 4]
    assert counts[:, 1:].sum() == 0


def test_a_class_is_mended_only_if_it_stays_precise_on_the_independent_generator():
    thresholds = (0.5, 0.7, 0.9)
    own = np.zeros((3, N_SCORED, 3), np.int64)
    independent = np.zeros_like(own)
    own[:, 0] = [[80, 20, 10], [96, 4, 20], [99, 1, 40]]  # scratch reaches 0.95 at 0.7
    independent[:, 0] = [[50, 50, 0], [85, 15, 5], [95, 5, 10]]  # 0.85 there: mended
    own[:, 1] = [[96, 4, 1], [97, 3, 1], [98, 2, 1]]  # dust reaches 0.95 at 0.5 ...
    independent[:, 1] = [[60, 40, 1], [99, 1, 1], [99, 1, 1]]  # ... but 0.6 there: not mended
    own[:, 2] = [[50, 50, 1], [60, 40, 1], [70, 30, 1]]  # blotch never reaches 0.95
    independent[:, 2] = [[99, 1, 1]] * 3
    choice = up.choose(own, independent, thresholds)
    assert choice["scratch"]["threshold"] == 0.7 and choice["scratch"]["mended"]
    assert choice["scratch"]["independent_precision"] == 0.85
    assert choice["dust"]["threshold"] == 0.5 and not choice["dust"]["mended"]
    assert choice["blotch"]["threshold"] == 0.9 and not choice["blotch"]["mended"]
    table = up.settings_table({"classes": choice})
    assert "| scratch | 0.70 | 0.96 | 0.83 | 0.85 | 0.94 | yes |" in table
