"""scikit-learn estimator: `GANClassifier().fit(X, y)` with y == -1 marking unlabelled rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import config as config_mod
from .config import Config
from .data import Split, as_images, make_dataset
from .data.arrays import UNLABELLED
from .deploy.export import pack_weights, read_safetensors, unpack_weights
from .hardware import fork_rng, resolve_device
from .models import build_models
from .models.outputs import predict_logits
from .train import build, fit
from .train.runlog import RunLog
from .version import __version__

ESTIMATOR_FORMAT = "ganlearn-estimator-1"


class GANClassifier(ClassifierMixin, BaseEstimator):
    """Semi-supervised classifier: the discriminator of a GAN with K real classes and a fake one
    (Salimans et al. 2016), its generator trained by feature matching; or, with `mode="fixmatch"`
    (as `from_config("images_ssl")`), the same discriminator by FixMatch-style self-training.

    Parameters mirror the `model` and `train` sections of a ganlearn config; `config` names a config
    (built-in or a YAML file) whose other settings (schedule, shifts, ...) training takes too:
    `GANClassifier.from_config("mnist_ssl_full")` trains as that config does. X is (n, d) or images
    (n, H, W) / (n, C, H, W); values outside [0, 1] are min-max scaled per feature with the training
    range. y follows scikit-learn's semi-supervised convention: -1 marks unlabelled rows.
    After `fit`: `classes_`, `discriminator_` (EMA weights, on the CPU), `generator_`, `history_`,
    `image_shape_`. `save(path)` / `GANClassifier.load(path)` keep a fitted one in a safetensors file.
    """

    def __init__(
        self,
        model="mlp",
        d_hidden=(1000, 500, 250, 250, 250),
        g_hidden=(500, 500),
        z_dim=100,
        image_shape=None,
        epochs=10,
        iters_per_epoch=None,
        batch_size=100,
        lr=0.003,
        unlabelled_weight=0.5,
        ema_decay=0.999,
        random_state=None,
        device="auto",
        verbose=False,
        config=None,
        mode="ssl",
    ):
        self.model = model
        self.d_hidden = d_hidden
        self.g_hidden = g_hidden
        self.z_dim = z_dim
        self.image_shape = image_shape
        self.epochs = epochs
        self.iters_per_epoch = iters_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.unlabelled_weight = unlabelled_weight
        self.ema_decay = ema_decay
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.config = config
        self.mode = mode

    @classmethod
    def from_config(cls, name_or_path: str, **params) -> GANClassifier:
        """An estimator that trains as a ganlearn config does (its model, schedule, shifts, ...);
        `params` override its settings, e.g. `from_config("mnist_ssl_full", epochs=38)`. The config's
        data section is not read: the data are what `fit` is given."""
        cfg, _ = config_mod.load(name_or_path, data=False)
        m, t = cfg.model, cfg.train
        own = dict(
            model=m.name,
            d_hidden=tuple(m.d_hidden),
            g_hidden=tuple(m.g_hidden),
            z_dim=m.z_dim,
            epochs=t.epochs,
            iters_per_epoch=t.iters_per_epoch,
            batch_size=t.batch_size,
            lr=t.lr,
            unlabelled_weight=t.unlabelled_weight,
            ema_decay=t.ema_decay,
            device=t.device,
            mode=t.mode,
        )
        return cls(config=name_or_path, **(own | params))

    def _images(self, X: np.ndarray) -> np.ndarray:
        """Scale into [0, 1] with the training range, then shape as images (n, C, H, W)."""
        X = np.asarray(X, dtype=np.float32)
        if self.scale_ is not None:
            low, span = self.scale_
            X = np.clip((X - low) / span, 0.0, 1.0)
        if self.image_shape is not None:
            X = X.reshape(len(X), *self.image_shape)
        return as_images(X, "X")

    def _config(self, n_samples: int, seed: int) -> Config:
        """The named config (else the defaults) with these parameters set, checked as every config is
        (a ConfigError is a ValueError)."""
        settings = {  # plain numbers: a search over np.arange or scipy.stats passes NumPy scalars
            "model.name": self.model,
            "model.z_dim": int(self.z_dim),
            "model.d_hidden": [int(h) for h in self.d_hidden],
            "model.g_hidden": [int(h) for h in self.g_hidden],
            "train.mode": self.mode,
            "train.epochs": int(self.epochs),
            "train.iters_per_epoch": None if self.iters_per_epoch is None else int(self.iters_per_epoch),
            "train.batch_size": int(min(self.batch_size, n_samples)),
            "train.lr": float(self.lr),
            "train.unlabelled_weight": float(self.unlabelled_weight),
            "train.ema_decay": float(self.ema_decay),
            "train.seed": seed,
            "train.device": self.device,
            "train.progress": bool(self.verbose),
        }
        overrides = [f"{key}={json.dumps(value)}" for key, value in settings.items()]
        return config_mod.load(self.config, overrides, data=False)[0]

    def fit(self, X, y):
        """Train on all rows of X; rows with y == -1 are used without their label."""
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float32, ensure_min_samples=2)
        # -1 marks unlabelled rows; string labels (dtype str) have no unlabelled rows, use dtype object
        labelled = np.flatnonzero(y != UNLABELLED) if y.dtype.kind in "iufO" else np.arange(len(y))
        check_classification_targets(y[labelled])
        self.classes_, y_lab = np.unique(y[labelled], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"GANClassifier needs labelled examples of at least 2 classes, got {len(self.classes_)}")
        low, high = X.min(axis=0), X.max(axis=0)
        self.scale_ = None if low.min() >= 0 and high.max() <= 1 else (low, np.where(high > low, high - low, 1))
        images = self._images(X)
        y_all = np.zeros(len(X), dtype=np.int64)
        y_all[labelled] = y_lab
        data = make_dataset("arrays", images, y_all, images[:0], y_all[:0], [str(c) for c in self.classes_])
        split = Split(labelled, np.setdiff1d(np.arange(len(y)), labelled), np.array([], dtype=np.int64))
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        with fork_rng(resolve_device(self.device)):  # leave the caller's torch RNGs as they were
            t = build(self._config(len(X), seed), data, split)
            self.history_ = fit(t, RunLog(None), verbose=self.verbose)
        self.discriminator_ = t.D_ema.cpu().eval()
        self.generator_ = t.G.cpu().eval()
        self.image_shape_ = data.image_shape
        return self

    def save(self, path) -> Path:
        """Write the fitted estimator (weights, parameters, classes) to a safetensors file: `load` reads
        it back, and reading it runs no code."""
        check_is_fitted(self)
        tensors = pack_weights(self.generator_, self.discriminator_)
        if self.scale_ is not None:
            tensors["scale.low"], tensors["scale.span"] = (torch.from_numpy(np.asarray(a)) for a in self.scale_)
        metadata = {
            "format": ESTIMATOR_FORMAT,
            "ganlearn_version": __version__,
            "params": json.dumps(self.get_params() | {"random_state": None}),  # a fitted one draws nothing
            "classes": json.dumps(self.classes_.tolist()),
            "image_shape": json.dumps(list(self.image_shape_)),
            "n_features_in": str(self.n_features_in_),
        }
        save_file(tensors, str(path), metadata=metadata)
        return Path(path)

    @classmethod
    def load(cls, path) -> GANClassifier:
        """A fitted estimator from a file that `save` wrote."""
        tensors, metadata = read_safetensors(path, ESTIMATOR_FORMAT)
        clf = cls(**json.loads(metadata["params"]))
        clf.classes_, clf.image_shape_ = (
            np.array(json.loads(metadata["classes"])),
            tuple(json.loads(metadata["image_shape"])),
        )
        clf.n_features_in_, clf.history_ = int(metadata["n_features_in"]), []
        clf.scale_ = (tensors["scale.low"].numpy(), tensors["scale.span"].numpy()) if "scale.low" in tensors else None
        G, D = build_models(clf._config(2, 0).model, clf.image_shape_, len(clf.classes_))
        for net, name in ((G, "G"), (D, "D")):
            net.load_state_dict(unpack_weights(tensors, name))
        clf.generator_, clf.discriminator_ = G.eval(), D.eval()
        return clf

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float32)
        return predict_logits(self.discriminator_, torch.from_numpy(self._images(X)), 1000)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (given that x is real, for the K+1 GAN): softmax over the K class logits. (n, K)."""
        return torch.softmax(self._logits(X).double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        winners = self._logits(X).argmax(1).numpy()
        return self.classes_[winners]
