"""Write scikit-image's colour sample photographs as a held-out evaluation set.

    python data/skimage_photos.py --out skimage_photos

They ship inside the scikit-image package (no download) and never enter the
training corpus (docs/architecture.md), so they test the colorizer on photos unlike
its training data. Written as ``OUT/test/<name>.png``, the layout that
``pipelines.evaluate_colorizer --split test`` reads. Every colour
photograph of ``skimage.data`` is taken, everyday scenes and scientific
images alike; the drawings (``colorwheel``, ``logo``) are not photographs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

# skimage.data function → what it shows.
PHOTOS = {
    "astronaut": "portrait of an astronaut",
    "chelsea": "a cat",
    "coffee": "a cup of coffee",
    "rocket": "a rocket on its launch pad",
    "stereo_motorcycle": "a motorcycle (left view of the stereo pair)",
    "hubble_deep_field": "galaxies, Hubble Space Telescope",
    "immunohistochemistry": "stained tissue under a microscope",
    "retina": "a human retina, fundus photograph",
}


def write_photos(out: Path) -> list[Path]:
    import skimage.data

    folder = out / "test"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PHOTOS:
        image = getattr(skimage.data, name)()
        if isinstance(image, tuple):  # the stereo pair: keep the left view
            image = image[0]
        path = folder / f"{name}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    for path in write_photos(args.out):
        print(path)


if __name__ == "__main__":
    main()
