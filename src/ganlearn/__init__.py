"""ganlearn: learning with generative adversarial networks.

    import ganlearn

    clf = ganlearn.GANClassifier(epochs=10).fit(X, y)  # scikit-learn style; y == -1 marks unlabelled rows
    cfg, name = ganlearn.load_config("mnist_ssl", ["train.epochs=3"])  # a built-in config or a YAML file
    run_dir = ganlearn.run(cfg, name)  # `ganlearn train`: a numbered run folder
    model = ganlearn.load(run_dir)  # a run folder or an exported .safetensors file
    model.predict(["photo.jpg", "more_photos/"])

The names below (`__all__`) are the public API; the modules under the package are its internals
and may move between versions.
"""

from .config import Config
from .config import load as load_config
from .data import load_dataset
from .deploy.export import export
from .deploy.trained_model import Model, load
from .errors import CheckpointError, ConfigError, DataError, GanlearnError, TrainingError
from .estimator import GANClassifier
from .evaluation.report import evaluate_run as evaluate
from .train import build, fit, run
from .version import __version__

__all__ = [
    # scikit-learn style, on arrays in memory
    "GANClassifier",
    # configs, runs and their folders
    "Config",
    "load_config",
    "load_dataset",
    "build",
    "fit",
    "run",
    "evaluate",
    "export",
    # trained models put to use
    "load",
    "Model",
    # one-line errors
    "GanlearnError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "TrainingError",
    "__version__",
]
