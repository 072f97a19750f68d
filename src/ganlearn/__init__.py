"""ganlearn: learning with generative adversarial networks.

from ganlearn import GANClassifier
clf = GANClassifier(epochs=10).fit(X, y)  # y == -1 marks unlabelled rows
"""

from .api import GANClassifier
from .errors import CheckpointError, ConfigError, DataError, GanlearnError, TrainingError

__version__ = "0.2.0"
__all__ = [
    "GANClassifier",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "GanlearnError",
    "TrainingError",
    "__version__",
]
