"""An experiment spec resolved once: its supervisor kind and options, its method chain, what makes it an oracle.

`Plan.of(spec)` runs the supervisor's and the method chain's checks (`check_supervisor`, `check_method`) once;
every step of `w2sg.pipeline.steps` takes the plan (or a spec, which it resolves once through `Plan.of`), so the
steps ask the plan instead of resolving the spec again.
"""

from __future__ import annotations

from dataclasses import dataclass

from w2sg.config import ExperimentSpec
from w2sg.methods import Method, MethodConfig, check_method, is_oracle
from w2sg.supervisors import Supervisor, SupervisorConfig, check_supervisor


@dataclass(frozen=True)
class Plan:
    """One experiment's spec with its supervisor and method chain resolved and checked."""

    spec: ExperimentSpec
    supervisor: Supervisor
    supervisor_cfg: SupervisorConfig
    stages: tuple[tuple[Method, MethodConfig], ...]

    @classmethod
    def of(cls, spec: ExperimentSpec | Plan) -> Plan:
        """The plan of `spec` (checked before any work: errors name the input and the fix); a plan is itself."""
        if isinstance(spec, Plan):
            return spec
        sup, cfg = check_supervisor(spec)
        return cls(spec, sup, cfg, tuple(check_method(spec)))

    @property
    def oracle(self) -> bool:
        """True when the student was selected with ground truth (analysis only): an oracle method, the oracle
        budget, or a student l2 taken from the ceiling."""
        spec = self.spec
        return is_oracle(list(self.stages)) or spec.budget.oracle or spec.train.student_l2_oracle

    @property
    def student_loss(self) -> str:
        """The loss the student trains with: the last method stage's `loss` option where it has one (naive's
        'squared': least squares, its l2 chosen by the held-out squared error), else 'ce'."""
        return getattr(self.stages[-1][1], "loss", "ce")

    def supervisor_record(self, meta: dict) -> dict:
        """What the record says about the supervisor: its label and kind, and what the kind itself records
        (`Supervisor.record`: e.g. a synthetic supervisor's error process); `meta`: what its step recorded."""
        return {"supervisor": self.spec.weak_label, "supervisor_kind": self.supervisor.kind,
                **self.supervisor.record(self.supervisor_cfg, meta)}
