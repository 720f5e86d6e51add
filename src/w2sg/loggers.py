"""Optional experiment loggers (off by default): Weights & Biases and MLflow, when installed and configured."""

from __future__ import annotations

LOG_KEYS = ("weak_acc", "ceiling_acc", "student_acc", "pgr_acc", "pgr_acc_ci_low", "pgr_acc_ci_high", "pgr_auroc",
            "gap_acc", "agree_transfer_weak_wrong")


class MissingPackageError(ImportError):
    """An optional logger's package is not installed; the message says what to pip install."""


def _params(record: dict) -> dict:
    return {k: record[k] for k in ("task", "weak", "strong", "method", "seed", "mode")}


def _metrics(record: dict) -> dict:
    out = {k: float(record[k]) for k in LOG_KEYS if isinstance(record.get(k), int | float)}
    out["unstable"] = float(bool(record.get("unstable")))
    return out


class WandbLogger:
    """One W&B run per experiment, in project $WANDB_PROJECT (default 'w2sg')."""

    def __init__(self, project: str | None = None):
        try:
            import wandb
        except ImportError as e:
            raise MissingPackageError("--logger wandb needs the wandb package, which is not installed: "
                                     "pip install wandb") from e
        import os

        self.wandb = wandb
        self.project = project or os.environ.get("WANDB_PROJECT", "w2sg")

    def log(self, record: dict) -> None:
        run = self.wandb.init(project=self.project, name=record["hash"], config=_params(record), reinit=True)
        run.log(_metrics(record))
        run.finish()


class MlflowLogger:
    """One MLflow run per experiment, in experiment 'w2sg' of $MLFLOW_TRACKING_URI (default ./mlruns)."""

    def __init__(self, experiment: str = "w2sg"):
        try:
            import mlflow
        except ImportError as e:
            raise MissingPackageError("--logger mlflow needs the mlflow package, which is not installed: "
                                     "pip install mlflow") from e
        self.mlflow = mlflow
        mlflow.set_experiment(experiment)

    def log(self, record: dict) -> None:
        with self.mlflow.start_run(run_name=record["hash"]):
            self.mlflow.log_params(_params(record))
            self.mlflow.log_metrics(_metrics(record))


def make_loggers(names: list[str] | None) -> list:
    table = {"wandb": WandbLogger, "mlflow": MlflowLogger}
    out = []
    for n in names or []:
        if n not in table:
            raise ValueError(f"unknown logger '{n}' (--logger); use wandb or mlflow")
        out.append(table[n]())
    return out
