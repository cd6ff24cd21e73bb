"""The "A folder" section of the Mend defects dock: every image file of a folder, unattended.

What the dock does to one image, the section does to a folder
(:func:`napari_mend.batch.run.run_batch`, in napari's process, one file after
the other): detect with the Detect step's detector (the taught model when it
is ticked) and mend with the Mend step's fill, writing one ``NAME.mend`` bundle
per file and ``manifest.json`` into the output folder. A taught model is saved
beside them, so the folder keeps the detector that made it.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import FileEdit, PushButton
from napari.utils.notifications import show_info

from ..detection.api import DEFAULT_DETECTOR
from ..inpainting.api import DEFAULT_INPAINTER
from .dock_layout import Section, hint


class FolderSection(Section):
    """Input and output folders and "Mend the folder".

    Parameters
    ----------
    runner : TaskRunner
        The dock's runner; the batch runs there (Cancel stops it between two files).
    detector : callable
        Returns the Detect step's ``(method, model)``: ``model`` a detector network's name,
        ``None`` or a taught model.
    fill : callable
        Returns the Mend step's ``(method, model)``: the fill and its inpainter model
        (``None`` for classical fills).
    """

    def __init__(self, *, runner, detector, fill):
        self._runner, self._detector, self._fill = runner, detector, fill
        self.source = FileEdit(label="folder", mode="d")
        self.output = FileEdit(label="into", mode="d")
        self.mend_folder_button = PushButton(
            text="Mend the folder", tooltip="detect and mend every image file, unattended")
        self.result = hint("")
        super().__init__("5. A folder (optional)", [
            hint("Every image file of a folder (and its sub-folders) is detected with the "
                 "detector of step 1 (the taught one when ticked) and mended with the fill "
                 "of step 3, unattended: with the classes and thresholds its model card "
                 "gives for that (a taught model: its classes at 0.5). One NAME.mend bundle "
                 "per file and manifest.json go into the output folder; pressing again "
                 "resumes."),
            self.source, self.output, self.mend_folder_button, self.result,
        ], expanded=False)
        self.mend_folder_button.changed.connect(self.run_folder)

    def _folders(self) -> tuple[Path, Path] | None:
        """The input and output folders, or ``None`` (and a hint) if unusable."""
        source, output = (field.line_edit.value.strip() for field in (self.source, self.output))
        if not source or not Path(source).is_dir():
            show_info("napari-mend: choose the folder of images to mend (the 'folder' field)")
            return None
        if not output:
            show_info("napari-mend: choose the folder the bundles go into (the 'into' field)")
            return None
        return Path(source), Path(output)

    def _batch_detector(self):
        """What :func:`run_batch` detects with (a taught model: the model itself), or
        ``None`` (and a hint) for a network a batch cannot use."""
        method, model = self._detector()
        if method == "classical":
            return "classical"
        if model is not None and not isinstance(model, str):  # a taught model
            return model
        if model not in (None, DEFAULT_DETECTOR):
            show_info(f"napari-mend: a folder is detected with the shipped detector "
                      f"({DEFAULT_DETECTOR!r}), the classical one or a taught model, not "
                      f"{model!r}; choose one of them in step 1")
            return None
        return "learned"

    def run_folder(self, event=None):
        """Mend every image file of the input folder into the output folder (in a worker)."""
        from ..batch.run import run_batch  # deferred: the batch machinery, only when used

        folders = self._folders()
        detector = self._batch_detector() if folders is not None else None
        if detector is None:
            return None
        fill, fill_model = self._fill()
        if fill_model not in (None, DEFAULT_INPAINTER):
            show_info(f"napari-mend: a folder is mended with the shipped inpainter "
                      f"({DEFAULT_INPAINTER!r}), not {fill_model!r}; choose it in step 3")
            return None
        source, output = folders

        def compute(progress):  # a taught model is saved beside the bundles
            return run_batch([str(source)], output, detector=detector, fill=fill,
                             in_process=True, progress=progress)

        def done(result):
            counts = result.counts
            self.result.value = (f"{counts['done']} mended, {counts['skipped']} already done, "
                                 f"{counts['failed']} failed: {result.manifest_path}")
            show_info(f"napari-mend: {self.result.value}")

        return self._runner.run(compute, done, "mend folder", near=self.mend_folder_button)
