"""User-facing errors: the CLI prints these as one line and exits non-zero."""


class GanlearnError(Exception):
    """A problem with the user's input (data, config, run folder), not a bug."""


class DataError(GanlearnError):
    """Missing, corrupt or inconsistent data."""


class ConfigError(GanlearnError, ValueError):
    """An unknown key, a bad value or a file that is not a config (a ValueError, as scikit-learn's
    parameter checks expect)."""


class CheckpointError(GanlearnError):
    """A checkpoint that is missing, corrupt, unsafe, or from a different config."""


class TrainingError(GanlearnError):
    """Training cannot go on (e.g. a non-finite loss)."""


class NonFiniteLoss(TrainingError):
    """A loss became NaN or infinite; training restarts from its last good state."""


def first_line(error: BaseException) -> str:
    """How a one-line error quotes another library's exception: its message's first line, or its
    type's name where it has no message."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
