"""Training under torchrun: 2 processes (gloo, CPU) train exactly what 1 process does.

The test starts torchrun itself, as a user would. With the same global batch
size the two processes each take half of every batch and DDP averages their
gradients, so after a few steps the weights must equal one process's within
float tolerance. A run stopped and resumed on 2 processes must end there too.
"""

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

ARGS = ["--preset", "tiny", "--batch-size", "4", "--size", "56", "--device", "cpu",
        "--grid-images", "0", "--seed", "3"]


def train(module, corpus, out, processes, *extra):
    """Run ``module`` under torchrun with ``processes`` processes (1: plain python -m)."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={processes}"] if processes > 1 else [sys.executable]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    result = subprocess.run([*launcher, "-m", module, "--data", str(corpus), "--out", str(out), *extra],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def assert_same_weights(a, b):
    first, second = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, module_corpus):
    out = tmp_path_factory.mktemp("one") / "run"
    train("pipelines.train_colorizer", module_corpus, out, 1, *ARGS, "--max-steps", "4")
    return out


def test_two_processes_train_the_same_weights_as_one(tmp_path, module_corpus, one_process):
    out = tmp_path / "run"
    result = train("pipelines.train_colorizer", module_corpus, out, 2, *ARGS, "--max-steps", "4")
    assert_same_weights(one_process, out)
    # Rank 0 alone logs: one progress header, one log line per logged step.
    assert result.stdout.count("stage decoder:") == 1
    steps = [line for line in (out / "decoder" / "log.jsonl").read_text().splitlines() if '"lr"' in line]
    assert len(steps) == 1  # log_every is 10: only the last step (4) is logged


@pytest.mark.slow  # one torchrun test stays in the fast suite: the one above
def test_resume_after_a_two_process_run(tmp_path, module_corpus, one_process):
    out = tmp_path / "run"
    train("pipelines.train_colorizer", module_corpus, out, 2, *ARGS, "--max-steps", "4", "--stop-after", "2")
    train("pipelines.train_colorizer", module_corpus, out, 2, *ARGS, "--max-steps", "4", "--resume")
    assert_same_weights(one_process, out)


@pytest.mark.slow  # one torchrun test stays in the fast suite: the one above
def test_the_global_batch_must_split_evenly(tmp_path, module_corpus):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    args = [a if a != "4" else "3" for a in ARGS]
    result = subprocess.run([*launcher, "-m", "pipelines.train_colorizer", "--data", str(module_corpus),
                             "--out", str(tmp_path / "run"), *args, "--max-steps", "1"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "--batch-size 3 is the global batch: it must be divisible by the 2 processes" in result.stderr


@pytest.mark.slow  # one torchrun test stays in the fast suite: the one above
def test_a_baseline_trains_the_same_on_two_processes(tmp_path, module_corpus):
    args = ["--model", "gated_pixelcnn", "--preset", "tiny", "--size", "8", "--channels", "ab",
            "--batch-size", "4", "--max-steps", "3", "--device", "cpu"]
    train("pipelines.train_baseline", module_corpus, tmp_path / "one", 1, *args)
    train("pipelines.train_baseline", module_corpus, tmp_path / "two", 2, *args)
    assert_same_weights(tmp_path / "one", tmp_path / "two")
