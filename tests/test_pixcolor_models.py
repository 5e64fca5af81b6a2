"""The colorizer's networks: pretrained conditioning, causal conditional decoder, refinement."""

import dataclasses

import pytest
import skimage.data
import torch
import torch.nn.functional as F

from colorize.checkpoint import load_model, save_model, stored_state
from colorize.color import dequantize_ab, rgb_to_gray
from colorize.models.conditioning import (
    BACKBONE_SIZE,
    Backbone,
    ConditioningConfig,
    ConditioningNetwork,
    gray_to_imagenet,
)
from colorize.models import build_config, model_from_config
from colorize.models.pixcolor import PixColor
from colorize.nn.resize import resize
from colorize.models.refinement import RefinementConfig, RefinementNetwork
from tests.test_causality import allowed_mask

# ImageNet classes 281–285: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASSES = range(281, 286)


def gray_l(image, size: int = BACKBONE_SIZE) -> torch.Tensor:
    """A scikit-image RGB uint8 sample → its L (1, 1, size, size) in [0, 100]."""
    rgb = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 255
    return F.interpolate(rgb_to_gray(rgb), size=(size, size), mode="bilinear", antialias=True)


@pytest.fixture(scope="module")
def backbone():
    return Backbone()


def test_pretrained_backbone_sees_a_cat_in_gray_chelsea(backbone):
    # Random or half-loaded weights would not land on a cat class out of 1000.
    logits = backbone.classify(gray_to_imagenet(gray_l(skimage.data.chelsea())))
    assert logits.argmax().item() in CAT_CLASSES


def test_gray_to_imagenet_is_the_gray_srgb_image():
    lightness = torch.tensor([0.0, 53.3889, 100.0]).view(1, 1, 1, 3)
    gray = torch.tensor([0.0, 0.5, 1.0])[:, None].expand(3, 3)  # (3 pixels, 3 channels)
    x = gray_to_imagenet(lightness)
    assert torch.allclose(x[0, :, 0, :].T, (gray * 255 - 127) / 128, atol=1e-3)
    x = gray_to_imagenet(lightness, "imagenet_mean_std")
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(x[0, :, 0, :].T * std + mean, gray, atol=1e-3)


def test_a_stored_config_without_input_scaling_keeps_the_scaling_it_was_trained_with():
    stored = dataclasses.asdict(build_config("pixcolor", "tiny"))
    del stored["conditioning"]["input_scaling"]
    assert model_from_config("pixcolor", stored).config.conditioning.input_scaling == "imagenet_mean_std"
    assert build_config("pixcolor", "tiny").conditioning.input_scaling == "efficientnet"
    assert ConditioningConfig(channels=4).input_scaling == "efficientnet"
    with pytest.raises(ValueError, match="unknown input scaling"):
        ConditioningConfig(input_scaling="raw")
    with pytest.raises(ValueError, match="unknown backbone"):
        ConditioningConfig(backbone="resnet50")


def test_backbone_is_frozen_and_stays_in_eval_mode(backbone):
    net = ConditioningNetwork(ConditioningConfig(channels=4, num_blocks=1))
    net.train()
    assert not net.backbone.training and not any(m.training for m in net.backbone.modules())
    assert net.adapter.training
    out = net(torch.rand(2, 1, BACKBONE_SIZE, BACKBONE_SIZE) * 100)
    assert out.shape == (2, 4, 28, 28)
    out.square().mean().backward()
    assert all(p.grad is None for p in net.backbone.parameters())
    assert all(p.grad is not None for p in net.adapter.parameters())


def test_finetuned_backbone_trains_and_is_stored():
    net = ConditioningNetwork(ConditioningConfig(channels=4, num_blocks=1, finetune_backbone=True))
    net.train()
    assert net.backbone.training
    net(torch.rand(1, 1, BACKBONE_SIZE, BACKBONE_SIZE) * 100).mean().backward()
    assert net.backbone.net._conv_stem.weight.grad is not None
    assert net.pretrained_keys() == set()


def test_conditioning_takes_l_of_any_size_and_squashes_it_to_the_backbone_input():
    net = ConditioningNetwork(ConditioningConfig(channels=4, num_blocks=1)).eval()
    lightness = torch.rand(1, 1, 150, 300) * 100
    with torch.no_grad():
        assert torch.equal(net(lightness), net(resize(lightness, BACKBONE_SIZE, BACKBONE_SIZE)))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        net(torch.zeros(1, 3, 100, 100))


def test_decoder_starts_unconditional_with_a_unit_scale_map():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny").eval()
    lightness = torch.rand(3, 1, BACKBONE_SIZE, BACKBONE_SIZE) * 100
    cond = model.conditioning(lightness)
    assert abs(cond.std().item() - 1) < 0.1  # normalised, not the backbone's raw scale
    bins = torch.randint(32, (3, 2, 28, 28))
    other = model.conditioning(lightness.flip(0))
    assert torch.equal(model.decoder.logits(bins, cond), model.decoder.logits(bins, other))


def test_checkpoint_leaves_out_the_frozen_backbone_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny")
    stored = stored_state(model)
    assert not any(key.startswith("conditioning.backbone.") for key in stored)
    assert set(stored) | model.pretrained_keys() == set(model.state_dict())
    save_model(tmp_path, model)
    loaded, config = load_model(tmp_path)
    assert config["model"] == "pixcolor"
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def check_decoder_causality(positions) -> None:
    """d logits(c, i, j) / d ab is zero outside the past; d / d conditioning map is not."""
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny").double().eval()
    for layer in model.decoder.layers:  # as after training: the map projections start at zero
        torch.nn.init.normal_(layer.cond_proj.map.weight, std=0.1)
    cond = model.conditioning(gray_l(skimage.data.chelsea()).double())  # the real map of a photo
    shape = (2, 28, 28)
    for c, i, j in positions:
        cond_leaf = cond.detach().clone().requires_grad_()
        x = (torch.rand(1, *shape, dtype=torch.float64) * 2 - 1).requires_grad_()
        logits = model.decoder(x, cond_leaf)
        logits[0, :, c, i, j].sum().backward()
        leaks = x.grad[0].abs()[~allowed_mask(c, i, j, shape)]
        assert leaks.max() == 0, f"logits at {(c, i, j)} see a later value"
        assert cond_leaf.grad.abs().sum() > 0


def test_decoder_is_causal_with_the_gray_image_conditioning_it():
    generator = torch.Generator().manual_seed(0)
    positions = [(0, 0, 0), (1, 0, 0), (0, 0, 27), (1, 13, 14), (0, 14, 0), (1, 27, 27), (0, 27, 27)]
    positions += [(c, i, j) for c in range(2) for i, j in torch.randint(28, (6, 2), generator=generator).tolist()]
    check_decoder_causality(positions)


@pytest.mark.slow
def test_decoder_is_causal_at_every_position_with_conditioning():
    check_decoder_causality([(c, i, j) for i in range(28) for j in range(28) for c in range(2)])


def test_refinement_starts_as_bilinear_upsampling():
    net = RefinementNetwork(RefinementConfig(width=4, num_blocks=1))
    ab_low = torch.randn(2, 2, 8, 8) * 30
    out = net(torch.rand(2, 1, 32, 32) * 100, ab_low)
    expected = F.interpolate(ab_low, size=(32, 32), mode="bilinear", align_corners=False)
    assert torch.allclose(out, expected, atol=1e-4)


def test_refinement_uses_its_chroma_input():
    torch.manual_seed(0)
    net = RefinementNetwork(RefinementConfig(width=4, num_blocks=1))
    torch.nn.init.normal_(net.out.weight, std=0.1)  # a trained net, not the identity start
    lightness = torch.rand(1, 1, 32, 32) * 100
    bins_a, bins_b = torch.randint(32, (2, 1, 2, 8, 8))
    out_a = net(lightness, dequantize_ab(bins_a))
    out_b = net(lightness, dequantize_ab(bins_b))
    assert out_a.shape == (1, 2, 32, 32)
    assert (out_a - out_b).abs().mean() > 1.0  # ab units
    # Not only through the upsampling skip: the network's correction depends on ab too.
    skip_a, skip_b = (F.interpolate(dequantize_ab(b), size=(32, 32), mode="bilinear") for b in (bins_a, bins_b))
    assert ((out_a - skip_a) - (out_b - skip_b)).abs().mean() > 1e-3


def test_refinement_learns_from_edges():
    """A few steps on one batch lower the L1 loss: the gray edges tell where the chroma moves."""
    torch.manual_seed(0)
    net = RefinementNetwork(RefinementConfig(width=8, num_blocks=1))
    lightness = torch.zeros(4, 1, 32, 32)
    lightness[..., 16:] = 80.0  # a vertical edge
    ab = torch.zeros(4, 2, 32, 32)
    ab[:, 0, :, 16:] = 60.0  # red right of the edge
    ab_low = F.avg_pool2d(ab, 8)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = net.loss(lightness, ab_low, ab).item()
    for _ in range(60):
        optimizer.zero_grad()
        net.loss(lightness, ab_low, ab).backward()
        optimizer.step()
    assert net.loss(lightness, ab_low, ab).item() < 0.5 * first


def test_refinement_rejects_bad_shapes():
    net = RefinementNetwork(RefinementConfig(width=4, num_blocks=1))
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.zeros(1, 1, 30, 30), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="ab_low"):
        net(torch.zeros(1, 1, 32, 32), torch.zeros(2, 2, 8, 8))
