"""Scripts that measure speed and memory and print ratios (``python -m benchmarks.NAME``)."""
