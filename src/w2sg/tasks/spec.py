"""The YAML task spec: one format for user tasks and the built-in ones (src/w2sg/tasks/builtin/*.yaml).

A spec names its rows' source(s) and maps each record to rows with ONE text template, whatever the source:

- `files`: data files, relative to the YAML file (`root: spec`, the default) or to the offline data directory
  (`root: data_dir`: --data-dir, $W2SG_DATA_DIR or ../shared/data); `csv` options for headerless or unquoted
  CSV/TSV, `reader` (a hook name) for other formats, `also` for extra files a reader needs;
- `hub`: a Hugging Face dataset (`id`, `config`, `splits`) used when no data directory is found;
- `hook`: a named row hook (tasks/hooks.py) for what a mapping cannot say.

Kinds: `binary` (`text` + `label`); `multiple_choice` (`text` with {answer}, `answers` + `correct`; or one
row per candidate with `label` and a `group` per question); `pairwise` (`prompt`, `chosen`, `rejected`).
`group`, `prompt`, `chosen` and `rejected` name a field, or are a template when they contain "{". `meta` lists
raw fields copied (as strings) into each row's `Example.meta`, e.g. `meta: [category]` (rows can then be
selected by them, as by a synthetic supervisor's `region: {field: {category: ...}}`).

A derived task names no source of its own: `derive: {pairwise_from: TASK}` makes a pairwise task of a
multiple-choice task's rows (tasks/derive.py), e.g. `{name: sciq_pairs, derive: {pairwise_from: sciq}}`.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from w2sg.config import Spec
from w2sg.tasks.hooks import READERS, ROW_HOOKS


class CsvOptions(Spec):
    """How to read a CSV/TSV file beyond the defaults (a header row, minimal quoting, tab for .tsv)."""

    header: bool = True
    columns: list[str] | None = None  # the column names of a headerless file
    quoting: Literal["minimal", "none"] = "minimal"
    delimiter: str | None = None

    @model_validator(mode="after")
    def _columns(self) -> CsvOptions:
        if not self.header and not self.columns:
            raise ValueError("a headerless file (header: false) needs 'columns'")
        if self.header and self.columns:
            raise ValueError("'columns' names the columns of a headerless file: set header: false")
        return self


class TaskFiles(Spec):
    """Data files, relative to the YAML file (or absolute): .json, .jsonl, .csv or .tsv (optionally .gz)."""

    pool: str
    test: str | None = None
    root: Literal["spec", "data_dir"] = "spec"
    also: list[str] = Field(default_factory=list)  # more files that must exist (read by a reader hook)
    csv: CsvOptions | None = None
    reader: str | None = None  # a reader hook, for files that are not JSON/JSONL/CSV/TSV

    @field_validator("reader")
    @classmethod
    def _known_reader(cls, v: str | None) -> str | None:
        if v is not None and v not in READERS:
            raise ValueError(f"unknown reader {v!r}; known: {', '.join(sorted(READERS))}")
        return v


class HubSplits(Spec):
    pool: str = "train"
    test: str | None = None


class HubSource(Spec):
    """A Hugging Face Hub dataset: `datasets.load_dataset(id, config)`, its splits used as pool and test."""

    id: str = Field(min_length=1)
    config: str | None = None
    data_dir: str | None = None  # a folder of the dataset repository (load_dataset(..., data_dir=...))
    splits: HubSplits = Field(default_factory=HubSplits)


class DeriveSpec(Spec):
    """A task made from another task's rows: `pairwise_from` names a multiple-choice task (or a YAML spec's
    path, relative to this spec); each question gives pairs (correct answer ≻ each wrong answer)."""

    pairwise_from: str = Field(min_length=1)


class YamlTaskSpec(Spec):
    """A task defined without Python (see the module docstring for the fields)."""

    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["binary", "multiple_choice", "pairwise"] = "binary"
    files: TaskFiles | None = None
    hub: HubSource | None = None
    hook: str | None = None
    text: str | None = None
    label: str | None = None
    label_map: dict[str, int | None] | None = None  # a value mapped to null drops the row
    answers: list[str] | str | None = None
    correct: str | None = None
    group: str | None = None
    prompt: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    derive: DeriveSpec | None = None
    meta: list[str] | None = None  # raw fields copied into each row's Example.meta (as strings)

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        # specs from before `kind` had three values: answers + correct meant multiple choice
        if isinstance(data, dict) and data.get("kind") is None:
            mc = "answers" in data or "correct" in data
            data = {**data, "kind": "pairwise" if "derive" in data else "multiple_choice" if mc else "binary"}
        return data

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
    def _values_binary(cls, v: dict[str, int | None] | None) -> dict[str, int | None] | None:
        if v is not None and any(val not in (0, 1, None) for val in v.values()):
            raise ValueError("label_map values must be 0 or 1 (or null: drop the row)")
        return v

    @field_validator("text", "group", "prompt", "chosen", "rejected")
    @classmethod
    def _template_parses(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                list(string.Formatter().parse(v))
            except ValueError as e:
                raise ValueError(f"bad template {v!r}: {e}") from e
        return v

    @field_validator("meta")
    @classmethod
    def _meta_names(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v or any(not isinstance(n, str) or not n.strip() for n in v):
                raise ValueError("meta lists field names of the records, e.g. meta: [category]")
            if len(set(v)) < len(v):
                raise ValueError(f"meta names a field twice: {v}")
        return v

    @field_validator("hook")
    @classmethod
    def _known_hook(cls, v: str | None) -> str | None:
        if v is not None and v not in ROW_HOOKS:
            raise ValueError(f"unknown hook {v!r}; known: {', '.join(sorted(ROW_HOOKS))}")
        return v

    @model_validator(mode="after")
    def _shape(self) -> YamlTaskSpec:
        if self.derive is not None:
            if self.kind != "pairwise":
                raise ValueError("derive.pairwise_from makes a task of kind: pairwise")
            own = [k for k in ("files", "hub", "hook", "text", "label", "label_map", "answers", "correct", "group",
                               "prompt", "chosen", "rejected", "meta") if getattr(self, k) is not None]
            if own:
                raise ValueError(f"a derived task takes its rows from '{self.derive.pairwise_from}': drop "
                                 f"{', '.join(map(repr, own))}")
            return self
        if self.files is None and self.hub is None:
            raise ValueError("field 'files' (data files) or 'hub' (a Hugging Face dataset) is required")
        if self.hub is not None and self.files is not None and self.files.root != "data_dir":
            raise ValueError("a 'hub' source stands in for files in the data directory: set files.root: data_dir")
        if self.kind == "pairwise":
            if not (self.chosen and self.rejected):
                raise ValueError("a pairwise task needs fields 'chosen' and 'rejected' (optionally 'prompt')")
            unused = [k for k in ("text", "label", "label_map", "answers", "correct") if getattr(self, k) is not None]
            if unused:
                raise ValueError(f"a pairwise task does not use {', '.join(map(repr, unused))} (its rows are "
                                 "rendered from prompt, chosen and rejected)")
            return self
        if self.prompt or self.chosen or self.rejected:
            raise ValueError("'prompt', 'chosen' and 'rejected' are for kind: pairwise")
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
        elif self.kind == "multiple_choice" and self.group is None:
            raise ValueError("a multiple-choice task with one row per candidate ('label') needs a 'group' "
                             "per question")
        return self

    @property
    def multiple_choice(self) -> bool:
        """True when each record expands into one row per candidate answer (answers + correct)."""
        return self.answers is not None


def template_fields(template: str) -> list[str]:
    return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f]


def parse_yaml_task_spec(text: str, where: str) -> YamlTaskSpec:
    """Validate a YAML task spec given as text; errors name `where` (the file) and the offending field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"task spec '{where}' is not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ValueError(f"task spec '{where}': expected a mapping of fields (name, files, text, ...)")
    try:
        return YamlTaskSpec.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"field '{'.'.join(map(str, err['loc'])) or '(spec)'}': {err['msg']}" for err in e.errors()
        )
        raise ValueError(f"task spec '{where}': {problems}") from None


def load_yaml_task_spec(path: str | Path) -> YamlTaskSpec:
    """Read and validate a YAML task spec; errors name the file and the offending field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task spec '{path}' does not exist")
    return parse_yaml_task_spec(path.read_text(encoding="utf-8"), str(path))
