"""What the docks are built from: collapsible sections, wrapping hints, a scroll area.

The three docks share napari's right-hand side on screens as small as
1280 x 800, so every dock scrolls, long hints wrap instead of widening the
dock, optional steps start collapsed, and the view is fitted to the smaller
canvas once a dock appears.
"""

from __future__ import annotations

from magicgui.widgets import Container, Label, PushButton
from qtpy.QtCore import QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea

_HEADER_STYLE = "QPushButton { text-align: left; font-weight: bold; padding: 2px 4px; }"
PREFERRED_HEIGHT = 240
"""Height a dock asks for at first: three docks share an 800-pixel-high window evenly."""


def fit_rows(select) -> None:
    """Make a magicgui ``Select`` exactly as tall as its choices (no empty band)."""
    view = select.native
    rows = max(view.count(), 1)
    view.setFixedHeight(rows * view.sizeHintForRow(0) + 2 * view.frameWidth())


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


class _DockScrollArea(QScrollArea):
    """A vertical scroll area that asks for at most :data:`PREFERRED_HEIGHT` pixels."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), PREFERRED_HEIGHT))


def scroll_dock(dock: Container, content: Container) -> None:
    """Show ``content`` inside ``dock`` through a vertical scroll area.

    napari docks a magicgui widget's ``native`` (not a scrollable
    container's scroll area), so the scroll area must live inside it. The
    area asks for little height, so the docks share the window's side
    instead of the first one taking it.
    """
    area = _DockScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content.native)
    area.setMinimumWidth(content.native.minimumSizeHint().width()
                         + area.verticalScrollBar().sizeHint().width())
    dock.margins = (0, 0, 0, 0)
    dock.native.layout().addWidget(area)


def share_dock_column(widget) -> None:
    """Give the docks stacked with ``widget``'s dock (same side, same column) equal heights.

    A dock added below others gets only its minimum height from Qt; sharing
    the column keeps every dock usable on a small screen.
    """
    dock = widget.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    window = dock.parentWidget() if dock is not None else None
    if not isinstance(window, QMainWindow) or dock.isFloating():
        return
    area = window.dockWidgetArea(dock)
    column = [other for other in window.findChildren(QDockWidget)
              if other.isVisible() and not other.isFloating() and other.x() == dock.x()
              and window.dockWidgetArea(other) == area]
    if len(column) > 1:
        height = sum(other.height() for other in column) // len(column)
        window.resizeDocks(column, [height] * len(column), Qt.Orientation.Vertical)


class _FitViewOnShow(QObject):
    """Once the watched dock first appears: share its column, then ``viewer.reset_view()``."""

    def __init__(self, viewer, widget):
        super().__init__(widget)
        self._viewer, self._widget = viewer, widget
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fit)

    def _fit(self) -> None:
        share_dock_column(self._widget)
        self._viewer.reset_view()

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Show:
            watched.removeEventFilter(self)
            self._timer.start(0)  # after the window has laid out the smaller canvas
        return False


def fit_view_when_docked(dock: Container, viewer) -> None:
    """Once ``dock`` is shown, share the dock column and re-fit the image to the smaller canvas."""
    dock.native.installEventFilter(_FitViewOnShow(viewer, dock.native))


def follow_viewer(dock: Container, viewer, on_layers_changed) -> None:
    """Wire a built ``dock`` to ``viewer``: ``on_layers_changed`` runs whenever a layer is
    added or removed, and the view is re-fitted once the dock is shown."""
    for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
        event.connect(on_layers_changed)
    fit_view_when_docked(dock, viewer)
