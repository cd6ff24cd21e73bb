"""Whether napari's window can open here, asked before Qt starts.

Qt's X11 platform plugin aborts the whole process (a core dump, no message
worth reading) when a system library it needs is missing, and cannot open a
window without a display. :func:`display_problem` finds both first and says
in one line what to do. No Qt is imported in this process.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

QT_SYSTEM_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1", "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0", "xcb-randr": "libxcb-randr0",
    "xcb-shape": "libxcb-shape0", "xcb-xfixes": "libxcb-xfixes0", "xcb-xkb": "libxcb-xkb1",
    "X11-xcb": "libx11-xcb1", "xkbcommon": "libxkbcommon0",
    "xkbcommon-x11": "libxkbcommon-x11-0", "GL": "libgl1", "EGL": "libegl1",
    "fontconfig": "libfontconfig1", "dbus-1": "libdbus-1-3",
}
"""Library (as ``ctypes.util.find_library`` names it) -> Debian/Ubuntu package, for Qt on X11."""

_PROBE = "from qtpy.QtWidgets import QApplication; QApplication([])"


def missing_qt_libraries() -> list[str]:
    """The Debian/Ubuntu packages of :data:`QT_SYSTEM_LIBRARIES` whose library is not found."""
    return [package for library, package in QT_SYSTEM_LIBRARIES.items()
            if ctypes.util.find_library(library) is None]


def display_problem(*, probe: bool = True) -> str | None:
    """What keeps a Qt window from opening here, in one line; ``None`` if nothing does.

    On Linux: no display (``DISPLAY``/``WAYLAND_DISPLAY``), missing system
    libraries (named with their packages), and, with ``probe``, a Qt
    application that fails to start in a child process. Other systems are
    not checked.
    """
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open a window on: run it on a desktop, or under a virtual "
                "display: xvfb-run -a napari-mend demo (package xvfb)")
    missing = missing_qt_libraries()
    if missing:
        return ("Qt needs system libraries that are missing; on Debian or Ubuntu install them "
                "(as root, or with sudo): apt-get install -y " + " ".join(missing))
    if probe:
        result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, timeout=60)
        if result.returncode != 0:
            return (f"Qt could not start on display {os.environ.get('DISPLAY', '')!r} (exit "
                    f"{result.returncode}); check that the display is running")
    return None
