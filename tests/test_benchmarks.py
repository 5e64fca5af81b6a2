"""The benchmark scripts run, and print what the README quotes from them (tiny settings)."""

import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import sampling
from colorize.models import build_model
from colorize.models.gated_pixelcnn_cache import cached_multiply_adds
from colorize.sampling import draw_noise


def test_sampling_benchmark_prints_the_table_and_the_speedup_line(capsys):
    sampling.main(["--samples", "8", "--naive-steps", "2", "--repeats", "1", "--gemm-size", "256",
                   "--photo-size", "32"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"cached_vs_naive_speedup_at_8=\d+(\.\d+)?", lines[-1])
    assert any(line.startswith("| 8 |") for line in lines)
    assert any(line.startswith("| likely, 4 of M = 16 |") for line in lines)


@pytest.mark.parametrize("overrides", [
    dict(num_channels=2, num_classes=32),
    dict(num_channels=2, num_classes=32, cond_map_channels=5),
    dict(num_channels=3, num_classes=8, first_kernel=5, kernel=5, cond_channels=3, num_layers=4),
])
def test_the_multiply_add_count_is_what_the_sampler_performs(overrides):
    """torch's FlopCounterMode counts every matmul the cached sampler runs (2 flops a multiply-add)."""
    torch.manual_seed(0)
    model = build_model("gated_pixelcnn", "tiny", **overrides).eval()
    config, (batch, height, width) = model.config, (2, 6, 5)
    cond = None
    if config.cond_map_channels:
        cond = torch.randn(batch, config.cond_map_channels, 3, 3)
    if config.cond_channels:
        cond = torch.randn(batch, config.cond_channels)
    noise, _ = draw_noise(batch, height * width * config.num_channels, config.num_classes)
    sampler = model.cached_sampler()  # its one-off weight layout is not part of the count
    with FlopCounterMode(display=False) as counter:
        sampler.sample(noise, height, width, cond)
    # Layer 0's rank-1 updates (torch.addr) are the one term the counter does not see.
    rank_one = batch * (config.num_channels - 1) * height * width * 2 * config.hidden
    assert counter.get_total_flops() == 2 * (cached_multiply_adds(config, batch, height, width) - rank_one)
