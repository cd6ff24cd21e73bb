"""Fixtures shared by every test folder, and the check that Qt tests carry the ``gui`` marker.

The image builders and ``psnr`` are plain functions in ``tests/helpers.py`` (import them as
``from helpers import psnr``).
"""

import pytest

from napari_mend.models import registry

QT_FIXTURES = {"make_napari_viewer", "qtbot", "qapp"}
"""Fixtures that need a Qt display: a test using one must be marked ``gui``."""


def pytest_collection_modifyitems(config, items):
    """Refuse to run a test that needs a display but is not marked ``gui``.

    ``-m "not gui"`` must run where there is no display; an unmarked Qt test would abort it.
    """
    unmarked = [item.nodeid for item in items
                if QT_FIXTURES & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("gui") is None]
    if unmarked:
        raise pytest.UsageError("mark these tests `gui` (they use Qt fixtures):\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    """An empty private user model folder (``NAPARI_MEND_MODEL_DIR``), no models cached."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("NAPARI_MEND_MODEL_DIR", str(folder))
    registry.clear_cache()
    yield folder
    registry.clear_cache()
