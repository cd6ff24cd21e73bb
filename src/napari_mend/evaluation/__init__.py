"""Quality evaluation of napari-mend's detectors and fills on held-out validation images."""
