"""ganlearn: learning with generative adversarial networks.

from ganlearn import GANClassifier
clf = GANClassifier(epochs=10).fit(X, y)  # y == -1 marks unlabelled rows
"""

__version__ = "0.2.0"  # before the imports: modules read it while the package loads

from .deploy.trained_model import Model, load
from .errors import CheckpointError, ConfigError, DataError, GanlearnError, TrainingError
from .estimator import GANClassifier

__all__ = [
    "GANClassifier",
    "Model",
    "load",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "GanlearnError",
    "TrainingError",
    "__version__",
]
