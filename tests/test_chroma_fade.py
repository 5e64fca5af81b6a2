"""pipelines.chroma_fade: the row-by-row chroma of the truth, teacher-forced draws and samples."""

import torch

from colorize.checkpoint import save_model
from colorize.models.pixcolor import PixColor
from pipelines.chroma_fade import main


def test_rows_for_the_truth_teacher_forcing_and_each_context_noise(module_corpus, tmp_path, capsys):
    torch.manual_seed(0)
    save_model(tmp_path / "noisy", PixColor.from_preset("tiny", working_size=28, context_noise=0.2))
    results = main(["--checkpoint", str(tmp_path / "noisy"), "--data", str(module_corpus), "--split", "test",
                    "--images", "2", "--device", "cpu"])
    assert list(results) == ["truth", "teacher-forced", "sampled, context noise 0",
                             "sampled, context noise 0.2"]
    assert all(len(rows) == 28 for rows in results.values())
    table = capsys.readouterr().out
    assert "the checkpoint's context noise: 0.2" in table and "| truth | " in table and "| 1.00× |" in table
    # The two samples differ only by the noise they read their draws with.
    assert results["sampled, context noise 0"] != results["sampled, context noise 0.2"]
    again = main(["--checkpoint", str(tmp_path / "noisy"), "--data", str(module_corpus), "--split", "test",
                  "--images", "2", "--device", "cpu", "--noise", "0.2"])
    assert again["sampled, context noise 0.2"] == results["sampled, context noise 0.2"]
