"""User-defined tasks from a YAML spec: files + a text template + a label (or answers + correct index)."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from w2sg.config import Spec
from w2sg.tasks.registry import Rows, TaskDef
from w2sg.tasks.rows import MalformedRowError, field, iter_records, parse_index, parse_label
from w2sg.tasks.schema import Example


class TaskFiles(Spec):
    """Data files, relative to the YAML file (or absolute): .json, .jsonl, .csv or .tsv (optionally .gz)."""

    pool: str
    test: str | None = None


class YamlTaskSpec(Spec):
    """A task defined without Python.

    Binary: `text` + `label`. Multiple choice: `text` with {answer}, `answers` + `correct`.
    Pairwise preference (`kind: pairwise`, fields prompt/chosen/rejected) is reserved for a later release.
    """

    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["binary", "pairwise"] = "binary"
    files: TaskFiles
    text: str | None = None
    label: str | None = None
    label_map: dict[str, int] | None = None
    answers: list[str] | str | None = None
    correct: str | None = None
    group: str | None = None
    prompt: str | None = None  # pairwise (later release)
    chosen: str | None = None
    rejected: str | None = None

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_strings(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for k, val in v.items():
            # YAML reads yes/no/true/false as booleans: accept the spellings a data file may hold
            keys = (["true", "yes", "on", "1"] if k else ["false", "no", "off", "0"]) if isinstance(k, bool) \
                else [str(k).strip().lower()]
            for key in keys:
                out[key] = val
        return out

    @field_validator("label_map")
    @classmethod
    def _values_binary(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if v is not None and any(val not in (0, 1) for val in v.values()):
            raise ValueError("label_map values must be 0 or 1")
        return v

    @field_validator("text")
    @classmethod
    def _template_parses(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                list(string.Formatter().parse(v))
            except ValueError as e:
                raise ValueError(f"bad template {v!r}: {e}") from e
        return v

    @model_validator(mode="after")
    def _shape(self) -> YamlTaskSpec:
        if self.kind == "pairwise":
            if not (self.chosen and self.rejected):
                raise ValueError("a pairwise task needs fields 'chosen' and 'rejected' (optionally 'prompt')")
            return self
        if not self.text:
            raise ValueError("field 'text' (a template such as \"Review: {body}\") is required")
        mc = self.answers is not None or self.correct is not None
        if mc:
            if self.answers is None or self.correct is None:
                raise ValueError("a multiple-choice task needs both 'answers' and 'correct'")
            if self.label is not None or self.label_map is not None:
                raise ValueError("give 'label' (binary) or 'answers' + 'correct' (multiple choice), not both")
            if "answer" not in template_fields(self.text):
                raise ValueError("field 'text' must contain {answer} for a multiple-choice task")
        elif self.label is None:
            raise ValueError("field 'label' (binary) or 'answers' + 'correct' (multiple choice) is required")
        return self

    @property
    def multiple_choice(self) -> bool:
        return self.answers is not None


def template_fields(template: str) -> list[str]:
    return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f]


def load_yaml_task_spec(path: str | Path) -> YamlTaskSpec:
    """Read and validate a YAML task spec; errors name the file and the offending field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task spec '{path}' does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"task spec '{path}' is not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ValueError(f"task spec '{path}': expected a mapping of fields (name, files, text, ...)")
    try:
        return YamlTaskSpec.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"field '{'.'.join(map(str, err['loc'])) or '(spec)'}': {err['msg']}" for err in e.errors()
        )
        raise ValueError(f"task spec '{path}': {problems}") from None


def _render(template: str, row: dict, path: Path, line: int, **extra: Any) -> str:
    try:
        return template.format(**row, **extra)
    except KeyError as e:
        raise MalformedRowError(path, line, f"missing field {e} used in the text template "
                                            f"(fields: {sorted(row)})") from None
    except (IndexError, ValueError, AttributeError) as e:
        raise MalformedRowError(path, line, f"cannot fill the text template: {e}") from None


def _answers(spec: YamlTaskSpec, row: dict, path: Path, line: int) -> list[Any]:
    if isinstance(spec.answers, list):
        return [field(row, a, path, line) for a in spec.answers]
    value = field(row, spec.answers, path, line)
    if isinstance(value, str) and value.strip().startswith("["):  # a JSON list inside a CSV cell
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if not isinstance(value, list) or len(value) < 2:
        raise MalformedRowError(path, line, f"field '{spec.answers}' must hold a list of at least 2 answers")
    return value


def read_yaml_task_file(spec: YamlTaskSpec, path: Path) -> list[Example]:
    """The binary rows of one data file of a YAML task."""
    out: list[Example] = []
    for line, row in iter_records(path):
        base = f"{spec.name}/{path.name}/{line}"
        group = str(field(row, spec.group, path, line)) if spec.group else None
        if spec.multiple_choice:
            answers = _answers(spec, row, path, line)
            correct = parse_index(field(row, spec.correct, path, line), len(answers), path, line)
            for k, a in enumerate(answers):
                text = _render(spec.text, row, path, line, answer=a)
                out.append(Example(f"{base}/{k}", group or base, text.strip(), int(k == correct)))
        else:
            label = parse_label(field(row, spec.label, path, line), path, line, spec.label_map)
            text = _render(spec.text, row, path, line)
            out.append(Example(f"{base}/0", group or f"{base}/0", text.strip(), label))
    return out


def task_from_yaml(path: str | Path) -> TaskDef:
    """A TaskDef for a YAML spec (files resolved relative to the YAML file)."""
    path = Path(path)
    spec = load_yaml_task_spec(path)
    if spec.kind == "pairwise":
        raise NotImplementedError(
            f"task spec '{path}': pairwise-preference tasks (kind: pairwise) come in a later release"
        )
    base = path.resolve().parent
    pool = (base / spec.files.pool).resolve()
    test = (base / spec.files.test).resolve() if spec.files.test else None

    def load(_data_dir: Path) -> Rows:
        return read_yaml_task_file(spec, pool), (read_yaml_task_file(spec, test) if test else None)

    return TaskDef(
        name=spec.name, description=spec.description or f"user task from {path}", local=load,
        files=tuple(str(p) for p in (pool, test) if p is not None), standalone=True,
    )
