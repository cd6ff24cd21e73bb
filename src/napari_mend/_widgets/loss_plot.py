"""The training dock's loss curve: a small matplotlib plot in napari's colours."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from napari.utils.theme import get_theme

PLACEHOLDER = "the loss per step\nappears here\nwhile training"


class LossPlot:
    """Loss per training step, drawn with the viewer's theme and integer steps.

    Before the first step the plot shows a short note instead of empty axes.
    It follows the viewer's theme when the curator changes it.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        Whose theme gives the colours.
    """

    def __init__(self, viewer):
        self._viewer = viewer
        self.history: list[tuple[int, float]] = []
        self.figure = Figure(figsize=(2.2, 1.6), layout="constrained")
        self.axes = self.figure.add_subplot(111)
        self._integer_steps = MaxNLocator(integer=True, nbins=4)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(170, 130)
        self.canvas.setMaximumHeight(180)
        viewer.events.theme.connect(self.draw)
        self.canvas.destroyed.connect(
            lambda *_: viewer.events.theme.disconnect(self.draw))
        self.draw()

    @property
    def colors(self) -> dict:
        """The theme's colours the plot uses, as hex strings."""
        theme = get_theme(self._viewer.theme)
        return {"background": theme.background.as_hex(), "text": theme.text.as_hex(),
                "line": theme.highlight.as_hex() if self._viewer.theme == "light"
                else theme.current.as_hex()}

    def set_history(self, history) -> None:
        """Show these ``(step, loss)`` pairs."""
        self.history = list(history)
        self.draw()

    def draw(self, event=None) -> None:
        """Redraw the curve (or the note) in the current theme's colours."""
        colors = self.colors
        self.figure.set_facecolor(colors["background"])
        axes = self.axes
        axes.clear()
        axes.set_facecolor(colors["background"])
        if not self.history:
            axes.set_axis_off()
            axes.text(0.5, 0.5, PLACEHOLDER, ha="center", va="center", fontsize=8,
                      color=colors["text"], transform=axes.transAxes)
        else:
            axes.set_axis_on()
            steps, losses = zip(*self.history)
            axes.plot(steps, losses, lw=1.2, color=colors["line"])
            axes.xaxis.set_major_locator(self._integer_steps)
            axes.set_xlabel("step", fontsize=8, color=colors["text"])
            axes.set_ylabel("loss", fontsize=8, color=colors["text"])
            axes.tick_params(labelsize=7, colors=colors["text"])
            for spine in axes.spines.values():
                spine.set_color(colors["text"])
        self.canvas.draw_idle()
