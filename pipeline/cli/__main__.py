"""`python -m pipeline.cli`, the same as the `glassbox` script."""

import sys

from pipeline.cli import main

sys.exit(main())
