"""``python -m napari_mend.cli``: the ``napari-mend`` command."""

import sys

from .main import main

sys.exit(main())
