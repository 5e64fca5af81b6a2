"""``python -m webui``: serve the colorize web page."""

import importlib.util
import sys

if importlib.util.find_spec("gradio") is None:
    sys.exit("python -m webui: error: the web page needs gradio: pip install 'colorize[web]'")

from webui.app import main  # noqa: E402

sys.exit(main())
