"""The ``napari-mend`` command; its entry point is :func:`napari_mend.cli.main.main`."""
