"""``python -m dlexam``."""

import sys

from dlexam.cli import main

sys.exit(main())
