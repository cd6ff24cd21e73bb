"""``python -m napari_mend.training <kind> --config FILE [--resume] [--out DIR]``."""

import sys

from .command import main

sys.exit(main())
