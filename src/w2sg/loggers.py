"""Optional experiment loggers (off by default): Weights & Biases and MLflow, when installed and configured.

A logger that cannot start stops a sweep before any work (`LoggerStartError`: one line naming the logger, where
it logs and the fix); one that fails mid-sweep is named once (`LoggerWarning`) and sent nothing more, and the
sweep goes on: every result is in the results store regardless."""

from __future__ import annotations

import os
import warnings

LOG_KEYS = ("weak_acc", "ceiling_acc", "student_acc", "pgr_acc", "pgr_acc_ci_low", "pgr_acc_ci_high", "pgr_auroc",
            "gap_acc", "agree_transfer_weak_wrong")


class MissingPackageError(ImportError):
    """An optional logger's package is not installed; the message says what to pip install."""


class LoggerStartError(ValueError):
    """A logger whose backend refuses to start (e.g. a tracking URI MLflow does not accept)."""


class LoggerWarning(UserWarning):
    """A logger failed mid-sweep: said once, the sweep goes on, the results are in the store."""


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _params(record: dict) -> dict:
    return {k: record[k] for k in ("task", "weak", "strong", "method", "seed", "mode")}


def _metrics(record: dict) -> dict:
    out = {k: float(record[k]) for k in LOG_KEYS if isinstance(record.get(k), int | float)}
    out["unstable"] = float(bool(record.get("unstable")))
    return out


class WandbLogger:
    """One W&B run per experiment, in project $WANDB_PROJECT (default 'w2sg')."""

    name = "wandb"

    def __init__(self, project: str | None = None):
        try:
            import wandb
        except ImportError as e:
            raise MissingPackageError("--logger wandb needs the wandb package, which is not installed: "
                                     "pip install wandb") from e
        self.wandb = wandb
        self.project = project or os.environ.get("WANDB_PROJECT", "w2sg")

    def where(self) -> str:
        return f"project '{self.project}' (WANDB_MODE={os.environ.get('WANDB_MODE', 'online')})"

    def log(self, record: dict) -> None:
        run = self.wandb.init(project=self.project, name=record["hash"], config=_params(record), reinit=True)
        run.log(_metrics(record))
        run.finish()


class MlflowLogger:
    """One MLflow run per experiment, in experiment 'w2sg' of $MLFLOW_TRACKING_URI (default ./mlruns)."""

    name = "mlflow"

    def __init__(self, experiment: str = "w2sg"):
        try:
            import mlflow
        except ImportError as e:
            raise MissingPackageError("--logger mlflow needs the mlflow package, which is not installed: "
                                     "pip install mlflow") from e
        self.mlflow = mlflow
        self.uri = _tracking_uri(mlflow)
        try:
            mlflow.set_experiment(experiment)  # the first call that reaches the backend
        except Exception as e:  # noqa: BLE001 — MlflowException, OSError, a refused or unreachable server
            raise LoggerStartError(
                f"--logger mlflow cannot start: tracking URI '{self.uri}' refused it ({_first_line(e)}); set "
                "MLFLOW_TRACKING_URI to a backend this MLflow accepts (e.g. sqlite:///mlflow.db, or "
                "http://HOST:5000 for a tracking server), or leave out --logger mlflow") from None

    def where(self) -> str:
        return f"tracking URI '{self.uri}'"

    def log(self, record: dict) -> None:
        with self.mlflow.start_run(run_name=record["hash"]):
            self.mlflow.log_params(_params(record))
            self.mlflow.log_metrics(_metrics(record))


def _tracking_uri(mlflow) -> str:
    try:
        return str(mlflow.get_tracking_uri())
    except Exception:  # noqa: BLE001 — only for the message
        return os.environ.get("MLFLOW_TRACKING_URI", "./mlruns")


def make_loggers(names: list[str] | None) -> list:
    """The loggers named by --logger, each started (before any work): `LoggerStartError` when one cannot."""
    table = {"wandb": WandbLogger, "mlflow": MlflowLogger}
    out = []
    for n in names or []:
        if n not in table:
            raise ValueError(f"unknown logger '{n}' (--logger); use wandb or mlflow")
        try:
            out.append(table[n]())
        except (MissingPackageError, LoggerStartError):
            raise
        except Exception as e:  # noqa: BLE001 — any start failure is one line, not the package's traceback
            raise LoggerStartError(f"--logger {n} cannot start ({_first_line(e)}); check its configuration "
                                   f"(environment variables), or leave out --logger {n}") from None
    return out


def log_record(loggers: list, record: dict) -> None:
    """Send one stored record to every logger that has not failed yet. A logger that raises is named once (a
    `LoggerWarning`) and sent nothing more in this process; the sweep goes on."""
    for lg in loggers:
        if getattr(lg, "failed", False):
            continue
        try:
            lg.log(record)
        except Exception as e:  # noqa: BLE001 — a logger must never cost the sweep
            lg.failed = True
            name = getattr(lg, "name", type(lg).__name__)
            where = f" ({lg.where()})" if hasattr(lg, "where") else ""
            warnings.warn(LoggerWarning(
                f"--logger {name}{where} failed at experiment {str(record.get('hash'))[:12]} ({_first_line(e)}); "
                "nothing more is sent to it in this sweep, which goes on: every result is in the results store "
                "(w2sg results)"), stacklevel=2)
