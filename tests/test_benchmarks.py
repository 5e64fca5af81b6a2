"""The benchmark scripts run, and print what the README quotes from them (tiny settings)."""

import re

from benchmarks import sampling
from colorize.models.gated_pixelcnn import GatedPixelCNNConfig
from colorize.models.gated_pixelcnn_cache import cached_multiply_adds


def test_sampling_benchmark_prints_the_table_and_the_speedup_line(capsys):
    sampling.main(["--samples", "8", "--naive-steps", "2", "--repeats", "1", "--gemm-size", "256"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"cached_vs_naive_speedup_at_8=\d+(\.\d+)?", lines[-1])
    assert any(line.startswith("| 8 |") for line in lines)


def test_the_multiply_add_count_grows_as_the_work_does():
    config = GatedPixelCNNConfig(num_channels=2, num_classes=32, hidden=12, num_layers=3, output_hidden=24)
    one = cached_multiply_adds(config, 1, 28, 28)
    assert cached_multiply_adds(config, 8, 28, 28) == 8 * one
    # Per value the head alone is hidden·output_hidden + output_hidden·K.
    assert one > 28 * 28 * 2 * (12 * 24 + 24 * 32)
