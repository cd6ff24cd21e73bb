"""Run compute off the GUI thread with a progress bar and a Cancel button."""

from __future__ import annotations

import threading

from magicgui.widgets import Container, Label, ProgressBar, PushButton
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

from ..progress import Cancelled
from ..threads import configure_threads, configured_threads


class _Relay(QObject):
    """Carries progress from the worker thread to the GUI thread (queued signal)."""

    progressed = Signal(int, int)


class TaskRunner(Container):
    """Progress bar, status line and Cancel button for one background task at a time.

    ``run(fn, on_done, label, near=...)`` calls ``fn(progress)`` in a
    worker thread; ``progress(done, total)`` updates the bar and raises
    :class:`~napari_mend.progress.Cancelled` once Cancel was pressed. The
    bar appears right below the button that started the task (or the row
    holding it), and the
    dock's ``controls`` (the buttons that start tasks) are disabled until
    it ends. Errors are shown as napari notifications; the window never
    blocks.

    The runner is never added to a container: it moves itself, through
    Qt, into the layout of the widget it shows below, so that
    container must not be changed afterwards.
    """

    def __init__(self):
        if configured_threads() is None:  # once per napari process, before any model loads
            configure_threads()
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.bar = ProgressBar(value=0, min=0, max=1000)
        self.cancel = PushButton(text="Cancel", enabled=False)
        bar_row = Container(widgets=[self.bar, self.cancel], layout="horizontal", labels=False)
        bar_row.margins = (0, 0, 0, 0)
        super().__init__(widgets=[bar_row, self.status], labels=False, visible=False)
        self.margins = (0, 0, 0, 0)
        self.controls: list = []  # the dock's task buttons, disabled while a task runs
        self._enabled_before: list[tuple] = []
        self.worker = None
        self._cancel_event = threading.Event()
        self._relay = _Relay()
        self._relay.progressed.connect(self._show_progress)
        self.cancel.changed.connect(self._request_cancel)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def _show_progress(self, done: int, total: int) -> None:
        self.bar.max = max(total, 1)
        self.bar.value = min(done, self.bar.max)

    def _request_cancel(self) -> None:
        self._cancel_event.set()
        self.status.value = "cancelling..."

    def _place_below(self, widget) -> None:
        """Move the runner into ``widget``'s layout, right below it."""
        strip = self.native
        old = strip.parentWidget()
        if old is not None and old.layout() is not None:
            old.layout().removeWidget(strip)
        layout = widget.native.parentWidget().layout()
        layout.insertWidget(layout.indexOf(widget.native) + 1, strip)
        strip.setVisible(True)

    def _lock_controls(self) -> None:
        self._enabled_before = [(widget, widget.enabled) for widget in self.controls]
        for widget in self.controls:
            widget.enabled = False

    def _unlock_controls(self) -> None:
        for widget, enabled in self._enabled_before:
            widget.enabled = enabled
        self._enabled_before = []

    def run(self, fn, on_done, label: str, *, near=None, on_finished=None):
        """Start ``fn(progress)``; ``on_done(result)`` runs in the GUI thread.

        ``near`` is the button that started the task, or the row holding
        it: the progress bar shows below it (without one, it stays where the
        last task left it).
        ``on_finished()`` runs in the GUI thread after the task ended in any
        way (done, cancelled or failed); it is connected before the task
        starts, so a task that ends at once cannot miss it.
        """
        if self.busy:
            show_info("napari-mend is still working; wait or press Cancel")
            return None
        self._cancel_event.clear()
        relay, cancel = self._relay, self._cancel_event

        def progress(done, total):
            if cancel.is_set():
                raise Cancelled()
            relay.progressed.emit(int(done), int(total))

        def task():
            try:
                return fn(progress)
            except Cancelled:
                return Cancelled

        worker = create_worker(task, _start_thread=False, _ignore_errors=True)
        self.worker = worker
        if near is not None:
            self._place_below(near)
        self._lock_controls()
        self.status.value = f"{label}..."
        self.bar.visible, self.bar.value = True, 0
        self.cancel.visible = self.cancel.enabled = True

        def returned(result):
            if result is Cancelled:
                self.status.value = f"{label}: cancelled"
                show_info(f"napari-mend: {label} cancelled; nothing was changed")
                return
            try:
                on_done(result)
            except Exception as err:  # show, never crash the viewer
                errored(err)
                return
            self.status.value = f"{label}: done"

        def errored(err):
            self.status.value = f"{label}: failed"
            show_error(f"napari-mend: {label} failed: {err}")

        def finished():
            self.worker = None
            self.bar.visible = self.cancel.visible = False
            self.cancel.enabled = False
            self._unlock_controls()
            if on_finished is not None:
                on_finished()

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(finished)
        worker.start()
        return worker
