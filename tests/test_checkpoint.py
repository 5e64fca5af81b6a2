"""Checkpoints: every model rebuilds through one path, and a bad config is a clear error."""

import json

import pytest
import torch

from colorize.checkpoint import CONFIG_FILE, load_model, save_model
from colorize.color import NUM_AB_BINS
from colorize.models import available_models, build_model, model_spec

ZOO_SETUP = {"num_channels": 2, "num_classes": NUM_AB_BINS}


def tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, "tiny", **(ZOO_SETUP if model_spec(name).zoo else {}))


@pytest.mark.parametrize("name", available_models(zoo_only=False))
def test_every_registered_model_round_trips_through_load_model(tmp_path, name):
    model = tiny(name)
    save_model(tmp_path, model, step=3)
    loaded, config = load_model(tmp_path)
    assert type(loaded) is type(model) and loaded.config == model.config and config["step"] == 3
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_the_colorizer_and_its_baseline_are_registered_beside_the_zoo():
    assert set(available_models(zoo_only=False)) - set(available_models()) == {"pixcolor", "ab_regression"}
    # Presets are plain dicts of fields, nested parts as nested dicts: nothing to deep-copy.
    for name in available_models(zoo_only=False):
        for preset in model_spec(name).presets.values():
            assert json.loads(json.dumps(preset)) == preset


@pytest.mark.parametrize("path,message", [
    (("bogus",), "unknown config fields for pixcolor: bogus"),
    (("decoder", "hiden"), "unknown config fields for pixcolor.decoder: hiden"),
    (("conditioning", "chanels"), "unknown config fields for pixcolor.conditioning: chanels"),
])
def test_a_stale_field_in_config_json_names_itself(tmp_path, path, message):
    save_model(tmp_path, tiny("pixcolor"))
    stored = json.loads((tmp_path / CONFIG_FILE).read_text())
    part = stored["config"]
    for key in path[:-1]:
        part = part[key]
    part[path[-1]] = 1
    (tmp_path / CONFIG_FILE).write_text(json.dumps(stored))
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path)


def test_weights_that_do_not_fit_the_config_are_a_clear_error(tmp_path):
    save_model(tmp_path, tiny("gated_pixelcnn"))
    stored = json.loads((tmp_path / CONFIG_FILE).read_text())
    del stored["config"]["num_classes"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="checkpoint does not match the gated_pixelcnn config: size mismatch"):
        load_model(tmp_path)


@pytest.mark.parametrize("text,message", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "holds no JSON object"),
    ('{"model": "pixcolor"}', "needs a 'model' name and a 'config' object"),
    ('{"model": "resnet", "config": {}}', "unknown model 'resnet'"),
])
def test_a_broken_config_json_is_a_clear_error(tmp_path, text, message):
    save_model(tmp_path, tiny("pixelcnn"))
    (tmp_path / CONFIG_FILE).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path)
