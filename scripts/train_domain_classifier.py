"""Train the domain classifier that the FID-style scores use, and write it into the package.

    python scripts/train_domain_classifier.py --dataset mnist --data-dir ../shared/data
    python scripts/train_domain_classifier.py --dataset fashion --data-dir ../shared/data

Trains on the full training split (labels included: this network is a measuring instrument, not
a semi-supervised model), reports test accuracy, and writes
src/ganlearn/weights/{dataset}_classifier.safetensors plus a JSON record with the SHA-256 of the
data files, the test accuracy, the seed and this command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganlearn.data import find_mnist_folder, load_mnist
from ganlearn.data.mnist import MNIST_FILES
from ganlearn.evaluation.domain_scores import DomainClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "ganlearn" / "weights"


def train(data, epochs: int, seed: int) -> DomainClassifier:
    torch.manual_seed(seed)
    net = DomainClassifier(data.n_classes)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    steps = epochs * (len(x) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for i in range(len(x) // 128):
            idx = order[i * 128 : (i + 1) * 128]
            xb = x[idx]
            shift = torch.randint(-2, 3, (2,))  # small random translations: features robust to jitter
            xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{epochs} loss {loss.item():.4f}", flush=True)
    return net.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion"], required=True)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    data = load_mnist(args.dataset, args.data_dir, download=False)
    start = time.perf_counter()
    net = train(data, args.epochs, args.seed)
    with torch.no_grad():
        pred = torch.cat(
            [net(torch.from_numpy(data.x_test[i : i + 1000])).argmax(1) for i in range(0, len(data.x_test), 1000)]
        )
    test_acc = float((pred.numpy() == data.y_test).mean())
    folder = find_mnist_folder(args.dataset, args.data_dir, download=False)
    record = {
        "dataset": args.dataset,
        "n_classes": data.n_classes,
        "test_accuracy": test_acc,
        "epochs": args.epochs,
        "seed": args.seed,
        "train_seconds": round(time.perf_counter() - start, 1),
        "torch": torch.__version__,
        "command": " ".join(["python"] + sys.argv),
        "data_sha256": {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in MNIST_FILES},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in net.state_dict().items()}, str(OUT / f"{args.dataset}_classifier.safetensors")
    )
    (OUT / f"{args.dataset}_classifier.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{args.dataset}: test accuracy {100 * test_acc:.2f}%, wrote {OUT}")


if __name__ == "__main__":
    main()
