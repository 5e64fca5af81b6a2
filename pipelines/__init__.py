"""Long-running jobs: training, evaluation. Each module runs with ``python -m pipelines.NAME``."""
