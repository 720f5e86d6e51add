"""A method to benchmark: naive training on smoothed weak labels. `w2sg bench examples/bench_method/smoothed.py`
runs it sealed on the dev part beside the zoo (CONTRIBUTING.md, "Benchmark your method")."""

from w2sg.methods.base import StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

EPS = 0.2  # weight of the uniform label


@register_method("smoothed", """
Naive training on smoothed weak labels: L = CE(f(x), (1 - eps) p_weak(x) + eps / 2), eps = 0.2.""")
def smoothed(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg):
    student = ctx.new_student()
    student.fit(list(transfer.items), (1 - EPS) * transfer.weak_p1 + EPS / 2, SoftXent(), seed=ctx.seed)
    return student
