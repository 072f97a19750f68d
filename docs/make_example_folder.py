"""Write the example folder of docs/own-data.md: Fashion-MNIST pictures as PNG files of mixed sizes,
some grey and some in colour, 10 labelled a class, the rest unlabelled, a test set and new images.

    python docs/make_example_folder.py --data-dir ../shared/data --out shop
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from ganlearn.data import load_mnist

p = argparse.ArgumentParser()
p.add_argument("--data-dir", default=None, help="the Fashion-MNIST folder (default: $GANLEARN_DATA, or download)")
p.add_argument("--out", default="shop")
args = p.parse_args()
data = load_mnist("fashion", args.data_dir)
rng = np.random.default_rng(0)
names = [c.replace("/", "-") for c in data.classes]  # "T-shirt/top" cannot name a folder


def save(image: np.ndarray, path: Path) -> None:
    """A 28x28 picture as a PNG of 28 to 64 pixels, grey or tinted."""
    side = int(rng.integers(28, 65))
    picture = Image.fromarray((image[0] * 255).astype(np.uint8)).resize((side, side), Image.BICUBIC)
    if rng.random() < 0.5:
        picture = Image.merge("RGB", [picture, picture.point(lambda v: v * 0.8), picture.point(lambda v: v * 0.6)])
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)


out = Path(args.out)
order = rng.permutation(len(data.y_train))
for c, name in enumerate(names):
    for i in order[data.y_train[order] == c][:10]:
        save(data.x_train[i], out / "labelled" / name / f"{i}.png")
for i in order[:5000]:
    save(data.x_train[i], out / "unlabelled" / f"batch{i % 5}" / f"{i}.png")
for i in range(1000):
    save(data.x_test[i], out / "test" / names[data.y_test[i]] / f"{i}.png")
for i in range(1000, 1020):
    save(data.x_test[i], out / "new" / f"item{i}.png")
print(f"wrote {out}/labelled (100 images), {out}/unlabelled (5000), {out}/test (1000), {out}/new (20)")
