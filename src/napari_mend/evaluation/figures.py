"""Matplotlib for the evaluations' figures, without a display."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib  # deferred: heavy, and only the figures need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: heavy, after choosing the backend

    return plt


def save_figure(fig, path, *, dpi=None) -> Path:
    """Lay out ``fig``, save it to ``path`` (creating its folder) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : path-like
        Where to save it; the format follows the suffix.
    dpi : float, optional
        Resolution; default the figure's own.

    Returns
    -------
    path : Path
        ``path``.
    """
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
