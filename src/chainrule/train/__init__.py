"""Training: the fit loop, callbacks, metrics, diagnostics and resume checkpoints."""

from chainrule.train import diagnostics, metrics
from chainrule.train.callbacks import (
    Callback,
    EarlyStopping,
    HistoryLogger,
    LambdaCallback,
    ModelCheckpoint,
    ProgressBar,
)
from chainrule.train.checkpoint import CheckpointDir, load_checkpoint
from chainrule.train.diagnostics import GradientWarning, bias_variance, gradient_health
from chainrule.train.history import History
from chainrule.train.interrupt import TrainingInterrupted
from chainrule.train.loop import (
    NonFiniteLossError,
    NonFiniteStepError,
    Trainer,
    evaluate,
    fit,
    predict,
)

__all__ = [
    "Callback",
    "CheckpointDir",
    "EarlyStopping",
    "GradientWarning",
    "History",
    "HistoryLogger",
    "LambdaCallback",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "NonFiniteStepError",
    "ProgressBar",
    "Trainer",
    "TrainingInterrupted",
    "bias_variance",
    "diagnostics",
    "evaluate",
    "fit",
    "gradient_health",
    "load_checkpoint",
    "metrics",
    "predict",
]
