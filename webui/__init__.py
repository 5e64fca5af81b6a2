"""The Gradio web page (``python -m webui``); it only calls the ``Colorizer`` API."""
