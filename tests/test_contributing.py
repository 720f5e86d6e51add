"""The three recipes of CONTRIBUTING.md keep working: each recipe's module is executed (registering its method
or supervisor kind for the duration of the test) and its own test is run with the same fixtures."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"


def _blocks() -> dict[str, str]:
    text = DOC.read_text()
    return {m.group(1): m.group(2) for m in re.finditer(
        r"`([\w/\.]+\.(?:py|yaml))`(?: \([^)]*\))?:\n\n```(?:python|yaml)\n(.*?)```", text, re.S)}


def _exec(code: str, name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    exec(compile(code.replace("from .conftest", "from tests.conftest"), name, "exec"),
         mod.__dict__)
    return mod


def test_the_recipes_are_all_there():
    assert set(_blocks()) == {"src/w2sg/methods/smoothed.py", "tests/test_method_smoothed.py",
                              "src/w2sg/supervisors/prior.py", "tests/test_supervisor_prior.py",
                              "my_task/headlines.yaml", "tests/test_task_headlines.py"}


@pytest.mark.parametrize("source,test,registry,name", [
    ("src/w2sg/methods/smoothed.py", "tests/test_method_smoothed.py", "w2sg.methods.registry:METHODS", "smoothed"),
    ("src/w2sg/supervisors/prior.py", "tests/test_supervisor_prior.py", "w2sg.supervisors.registry:SUPERVISORS",
     "prior"),
    (None, "tests/test_task_headlines.py", None, None),
])
def test_recipe(source, test, registry, name, tmp_path, tiny_encoder, synthetic_task):
    import importlib

    blocks = _blocks()
    table = None
    if registry:
        module, attr = registry.split(":")
        table = getattr(importlib.import_module(module), attr)
        assert name not in table
    try:
        if source:
            _exec(blocks[source], f"recipe_{name}")
        tests = _exec(blocks[test], "recipe_test")
        fns = [f for k, f in vars(tests).items() if k.startswith("test_")]
        assert len(fns) == 1
        kw = {"tmp_path": tmp_path, "tiny_encoder": tiny_encoder, "synthetic_task": synthetic_task}
        fns[0](**{k: v for k, v in kw.items() if k in fns[0].__code__.co_varnames})
    finally:
        if table is not None:
            table.pop(name, None)
