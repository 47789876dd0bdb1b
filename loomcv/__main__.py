"""``python -m loomcv ...`` (used under torchrun) is the ``loomcv`` command."""

import sys

from loomcv.cli.main import main

sys.exit(main())
