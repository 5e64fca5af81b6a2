"""Score colorizers on photos of sources they never saw, clean and as old prints, setting by setting.

    python -m pipelines.evaluate_heldout --checkpoint colorize/weights/default \\
        --data ../photos --skimage skimage_photos --samples 8 --max-images 200 \\
        --setting guidance=1 --setting guidance=2 --setting guidance=2,top_p=0.9 \\
        [--old-prints] [--checkpoint OTHER ...] [--out FILE.json]

Photos of one source share a look (a camera, a place, a way of cropping), so a
validation split drawn from the training sources flatters a model: it scores
it on sources it has learned. This command scores the ``heldout`` split of a
photo folder instead, whole sources kept out of training
(:data:`pipelines.corpus.HELD_OUT_SOURCES`), and scikit-image's photos
(``--skimage``, written by ``data/skimage_photos.py``), which no stage sees.
``--max-images`` takes that many photos evenly spread over the split, so that
every source is in the subset. With ``--old-prints`` each set is scored a
second time as old prints (:func:`colorize.old_print.old_print`, the same
prints for every model and setting), against the original photos.

Each ``--setting`` is a comma-separated list of sampling options:
``guidance`` (classifier-free guidance scale), ``top_p``, ``temperature``,
``select`` (drawn, likely, diverse), ``draws``, and the guided filter of the
refined chroma, ``edge_radius`` (0: none) and ``edge_eps``
(:mod:`colorize.guided_filter`); ``default`` takes the
model's own defaults. Every row gives, for the first sample and the N samples
(:func:`pipelines.evaluate_colorizer.evaluate`): PSNR against the original
and its difference from gray's, best-of-N, the colourfulness ratio to the
originals, the independent classifier's top-1 agreement and KL beside gray's,
the diversity, and the first sample's chroma sharpness at the photo's edges
as a fraction of the original's own. The printed table is markdown; the JSON
(``--out``) holds every field.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch.utils.data import Subset

from colorize.checkpoint import write_json
from colorize.device import DEVICE_CHOICES, resolve_device
from colorize.models.pixcolor import PixColor
from colorize.selection import SELECTIONS
from pipelines.corpus import evaluation_crops, split_images
from pipelines.evaluate_colorizer import evaluate, load_checked
from pipelines.sample_figure import evenly_spaced
from pipelines.semantic_fidelity import SemanticJudge, independent_backbone

OPTION_TYPES = {"guidance": float, "top_p": float, "temperature": float, "select": str, "draws": int,
                "edge_radius": int, "edge_eps": float}
# The options that are the model's post-processing, not the sampler's: set on its config for the row.
CONFIG_OPTIONS = ("edge_radius", "edge_eps")
PRINT_SEED = 1234  # the old prints' draws: the same prints for every model and setting


def parse_setting(text: str) -> dict:
    """"guidance=2,top_p=0.9" → {"guidance": 2.0, "top_p": 0.9}; "default" → {}."""
    if text.strip() == "default":
        return {}
    setting = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in OPTION_TYPES:
            raise ValueError(f"bad setting {part!r}: use key=value with keys {', '.join(OPTION_TYPES)}")
        setting[key] = OPTION_TYPES[key](value.strip())
    if setting.get("select", "drawn") not in SELECTIONS:
        raise ValueError(f"select must be one of {', '.join(SELECTIONS)}")
    return setting


def setting_name(setting: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in setting.items()) or "defaults"


def resolved(model: PixColor, setting: dict, shipped: dict) -> dict:
    """The setting with the model's defaults filled in; ``shipped``: its config's ``CONFIG_OPTIONS``
    as loaded (the rows set them on ``model.config``, so they are not read back from it)."""
    return {"guidance": model.config.default_guidance, "top_p": model.config.default_top_p,
            "temperature": 1.0, "select": "drawn", "draws": None, **shipped, **setting}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}".replace("-", "−")


def signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "−")


def format_rows(rows: list[dict], samples: int) -> str:
    """One markdown table: a row per (model, setting, photos), gray's values beside each."""
    header = ["model", "setting", "photos", "PSNR first (vs gray)", f"best of {samples} (vs gray)",
              "colourfulness ratio", "top-1 agreement (gray)", "KL (gray)", "diversity",
              "edge sharpness ratio"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ours, gray = row["pixcolor"], row["gray"]
        cells = [row["model"], row["setting"], row["photos"],
                 f"{number(ours['psnr_first'])} ({signed(ours['psnr_first_vs_gray'])})",
                 f"{number(ours['psnr_best'])} ({signed(ours['psnr_best_vs_gray'])})",
                 f"{number(ours['colourfulness_ratio'])}×",
                 f"{percent(ours['top1_agreement'])} ({percent(gray['top1_agreement'])})",
                 f"{number(ours['kl_from_original'], 3)} ({number(gray['kl_from_original'], 3)})",
                 number(ours["diversity"], 1), f"{number(ours['edge_sharpness_ratio'])}×"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def photo_sets(args, size: int) -> list[tuple[str, object]]:
    """(name, dataset) of every photo set to score: the held-out split, and scikit-image's."""
    sets = []
    paths = split_images(args.data, "heldout")
    if paths is None:
        raise SystemExit(f"{args.data} holds no photo of the held-out sources")
    crops = evaluation_crops(paths, size)
    if args.max_images is not None and args.max_images < len(crops):
        crops = Subset(crops, evenly_spaced(args.max_images, len(crops)))
    sets.append((f"held-out sources ({len(crops)})", crops))
    if args.skimage is not None:
        skimage = split_images(args.skimage, "test") or split_images(args.skimage, "train")
        sets.append((f"scikit-image ({len(skimage)})", evaluation_crops(skimage, size)))
    return sets


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", required=True, help="colorizer folder (repeatable)")
    parser.add_argument("--data", required=True, help="photo folder whose file-name prefixes name the sources")
    parser.add_argument("--skimage", default=None, help="scikit-image's photos (data/skimage_photos.py)")
    parser.add_argument("--setting", action="append", default=None,
                        help='sampling options, e.g. "guidance=2,top_p=0.9" (repeatable; default: "default")')
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-images", type=int, default=None, help="photos evenly spread over the split")
    parser.add_argument("--old-prints", action="store_true", help="score old-print copies too")
    parser.add_argument("--batch-images", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--out", default=None, help="JSON results")
    args = parser.parse_args(argv)
    try:
        settings = [parse_setting(text) for text in (args.setting or ["default"])]
    except ValueError as err:
        parser.error(str(err))
    if args.samples < 2:
        parser.error("--samples must be >= 2 (best-of-N and diversity need several)")

    device = resolve_device(args.device)
    rows = []
    for checkpoint in args.checkpoint:
        model, _ = load_checked(checkpoint, device, PixColor, "--checkpoint")
        backbone = model.config.conditioning.backbone
        judge = SemanticJudge(independent_backbone(backbone)).to(device)
        shipped = {key: getattr(model.config, key) for key in CONFIG_OPTIONS}
        for photos, dataset in photo_sets(args, model.config.working_size):
            for prints in ([False, True] if args.old_prints else [False]):
                for setting in settings:
                    options = resolved(model, setting, shipped)
                    for key in CONFIG_OPTIONS:
                        setattr(model.config, key, options[key])
                    scores = evaluate(model, dataset, args.samples, options["temperature"], args.seed,
                                      args.batch_images, judge=judge, progress=True, select=options["select"],
                                      draws=options["draws"], guidance=options["guidance"],
                                      top_p=options["top_p"], old_prints=PRINT_SEED if prints else None)
                    row = {"model": checkpoint, "setting": setting_name(setting), "options": options,
                           "photos": photos + (", old prints" if prints else ""),
                           "classifier": scores["classifier"], **scores["methods"]}
                    rows.append(row)
                    print(format_rows([row], args.samples).splitlines()[-1], flush=True)
    print(format_rows(rows, args.samples))
    if args.out is not None:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {"samples": args.samples, "seed": args.seed, "data": str(args.data),
                          "max_images": args.max_images, "rows": rows})
        print(f"results written to {path}")
    return rows


if __name__ == "__main__":
    main()
