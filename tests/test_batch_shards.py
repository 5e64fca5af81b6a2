"""Sharded batch inference: shards together give exactly one run's outputs, each photo done once."""

import hashlib
import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize import cli
from colorize.batch import BatchUsageError, Shard

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Seven small photos in two folders, one of them broken."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for n in range(6):
        folder = root / ("a" if n % 2 else "b")
        folder.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).save(folder / f"p{n}.png")
    (root / "a" / "broken.png").write_bytes(b"not a png")
    return root


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(["batch", *map(str, argv)])
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def contents(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def whole(tmp_path_factory, photos, checkpoint):
    out = tmp_path_factory.mktemp("whole")
    code, _, _ = run([photos, out, "--samples", 2, "--seed", 5, "--checkpoint", checkpoint, "--device", "cpu"])
    assert code == 1  # the broken file
    return contents(out)


def test_two_shards_give_exactly_the_outputs_of_one_run(tmp_path, photos, checkpoint, whole):
    out = tmp_path / "out"
    done = 0
    for index in range(2):
        code, stdout, _ = run([photos, out, "--samples", 2, "--seed", 5, "--checkpoint", checkpoint,
                               "--device", "cpu", "--shard", f"{index}/2"])
        done += int(stdout.split("shard")[-1].split(":")[1].split("done")[0])
        assert code in (0, 1)
    assert contents(out) == whole and len(whole) == 6 * 3  # 2 PNGs and a record per good photo
    assert done == 6  # each good photo colorized once, by one shard


@pytest.mark.slow  # torchrun: the fast suite keeps one torchrun test (test_distributed)
def test_torchrun_processes_split_the_folder(tmp_path, photos, checkpoint, whole):
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "colorize", "batch", str(photos), str(out), "--samples", "2", "--seed", "5",
         "--checkpoint", str(checkpoint), "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0  # one shard met the broken file, and says so
    assert contents(out) == whole
    summaries = [line for line in result.stdout.splitlines() if line.startswith("shard ")]
    assert sorted(s.split(":")[0] for s in summaries) == ["shard 0/2", "shard 1/2"]
    assert sum(int(s.split(": ")[1].split(" done")[0]) for s in summaries) == 6


def test_shards_partition_and_compose():
    items = list(range(23))
    parts = [Shard(i, 3).take(items) for i in range(3)]
    assert sorted(sum(parts, [])) == items
    nested = [Shard(i, 3).within(Shard(r, 2)).take(items) for i in range(3) for r in range(2)]
    assert sorted(sum(nested, [])) == items
    assert Shard.parse("1/4") == Shard(1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(BatchUsageError, match="shard"):
            Shard.parse(bad)


def test_a_bad_shard_is_a_usage_error(photos, tmp_path, checkpoint):
    code, _, err = run([photos, tmp_path / "out", "--checkpoint", checkpoint, "--shard", "2/2"])
    assert code == 2 and "shard" in err
