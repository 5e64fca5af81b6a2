"""``python -m webui``: serve the colorize web page."""

import sys

from webui.app import main

sys.exit(main())
