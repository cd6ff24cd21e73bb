"""What the docks are built from: collapsible sections, wrapping hints, a scroll area.

The three docks share napari's right-hand side on screens as small as
1280 x 800, so every dock scrolls, long hints wrap instead of widening the
dock, optional steps start collapsed, and the view is fitted to the smaller
canvas once a dock appears.
"""

from __future__ import annotations

from magicgui.widgets import Container, Label, PushButton
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QFrame, QScrollArea

_HEADER_STYLE = "QPushButton { text-align: left; font-weight: bold; padding: 2px 4px; }"


def hint(text: str) -> Label:
    """A label whose long text wraps to the dock's width."""
    label = Label(value=text)
    label.native.setWordWrap(True)
    return label


class Section(Container):
    """A titled group of widgets; pressing the title shows or hides them.

    Parameters
    ----------
    title : str
        Shown on the header button.
    widgets : sequence of magicgui widgets
        The section's body, top to bottom.
    expanded : bool, optional
        Whether the body shows at first.
    """

    def __init__(self, title: str, widgets, *, expanded: bool = True):
        self.title = title
        self.header = PushButton(text=title, tooltip="show or hide this step")
        self.body = Container(widgets=widgets)
        self.body.margins = (4, 0, 0, 4)
        super().__init__(widgets=[self.header, self.body], labels=False)
        self.margins = (0, 0, 0, 0)
        self.header.native.setFlat(True)
        self.header.native.setStyleSheet(_HEADER_STYLE)
        self.header.changed.connect(self._toggle)
        self.expanded = expanded

    @property
    def expanded(self) -> bool:
        """Whether the body is shown (it may be, even while the dock is hidden)."""
        return not self.body.native.isHidden()

    @expanded.setter
    def expanded(self, value: bool) -> None:
        self.body.native.setHidden(not value)
        self.header.text = f"{'▾' if value else '▸'} {self.title}"

    def _toggle(self, event=None) -> None:
        self.expanded = not self.expanded


def scroll_dock(dock: Container, content: Container) -> None:
    """Show ``content`` inside ``dock`` through a vertical scroll area.

    napari docks a magicgui widget's ``native`` (not a scrollable
    container's scroll area), so the scroll area must live inside it.
    """
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content.native)
    area.setMinimumWidth(content.native.minimumSizeHint().width()
                         + area.verticalScrollBar().sizeHint().width())
    dock.margins = (0, 0, 0, 0)
    dock.native.layout().addWidget(area)


class _FitViewOnShow(QObject):
    """Calls ``viewer.reset_view()`` once, after the watched widget first appears."""

    def __init__(self, viewer, widget):
        super().__init__(widget)
        self._viewer = viewer
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(viewer.reset_view)

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Show:
            watched.removeEventFilter(self)
            self._timer.start(0)  # after the window has laid out the smaller canvas
        return False


def fit_view_when_docked(dock: Container, viewer) -> None:
    """Re-fit the image to the canvas once ``dock`` is shown (docking shrinks the canvas)."""
    dock.native.installEventFilter(_FitViewOnShow(viewer, dock.native))
