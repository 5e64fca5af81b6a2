"""The semantic-fidelity judge: an independent ImageNet classifier and its two scores."""

import math

import numpy as np
import pytest
import skimage.data
import torch

from colorize.models.conditioning import BACKBONES
from pipelines.semantic_fidelity import SemanticJudge, agreement_and_kl, independent_backbone

# ImageNet's domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASSES = {281, 282, 283, 284, 285}


def test_the_judge_is_never_the_colorizers_backbone():
    for backbone in BACKBONES:
        assert independent_backbone(backbone) != backbone
        assert independent_backbone(backbone) in BACKBONES


def test_agreement_and_kl_of_a_distribution_with_itself_and_another():
    log_p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]).log()
    log_q = torch.tensor([[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]).log()
    agree, kl = agreement_and_kl(log_p, log_p)
    assert agree == [1.0, 1.0] and kl == pytest.approx([0.0, 0.0], abs=1e-7)
    agree, kl = agreement_and_kl(log_p, log_q)
    assert agree == [0.0, 1.0]
    expected = 0.7 * math.log(0.7 / 0.2) + 0.2 * math.log(0.2 / 0.7)
    assert kl == pytest.approx([expected, 0.0], abs=1e-6)


def test_the_judge_sees_a_cat_in_chelsea_at_any_size():
    judge = SemanticJudge("lite1")
    rgb = torch.from_numpy(np.ascontiguousarray(skimage.data.chelsea())).permute(2, 0, 1)[None] / 255.0
    log_p = judge(rgb.float())
    assert log_p.shape == (1, 1000)
    assert torch.allclose(log_p.exp().sum(1), torch.ones(1), atol=1e-4)
    assert log_p.argmax().item() in CAT_CLASSES
