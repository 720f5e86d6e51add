"""The YAML task spec: one format for user tasks and the built-in ones (src/w2sg/tasks/builtin/*.yaml).

A spec names its rows' source(s) and maps each record to rows with ONE text template, whatever the source:

- `files`: data files, relative to the YAML file (`root: spec`, the default) or to the offline data directory
  (`root: data_dir`: --data-dir, $W2SG_DATA_DIR or ../shared/data), and inside that folder (a `..` that leaves
  it is refused; an absolute path is read as given); `csv` options for headerless or unquoted CSV/TSV, `reader`
  (a hook name) for other formats, `also` for extra files a reader needs;
- `hub`: a Hugging Face dataset (`id`, `config`, `splits`) used when no data directory is found;
- `hook`: a named row hook (tasks/hooks.py) for what a mapping cannot say.

Kinds: `binary` (`text` + `label`); `multiple_choice` (`text` with {answer}, `answers` + `correct`; or one
row per candidate with `label` and a `group` per question); `pairwise` (`prompt`, `chosen`, `rejected`); `steps`
(step-labelled solutions: `generate` arithmetic chains, or records mapped by `problem`, `steps`, `step_labels`,
`outcome`, `group`; `labels: step | outcome`; see tasks/steps_spec.py).
`group`, `prompt`, `chosen` and `rejected` name a field, or are a template when they contain "{". A template's
placeholders are plain field names, `{body}`: no attribute or index lookups, format specs or conversions. `meta` lists
raw fields copied (as strings) into each row's `Example.meta`, e.g. `meta: [category]` (rows can then be
selected by them, as by a synthetic supervisor's `region: {field: {category: ...}}`).

Reading tasks: `context` (field or template) is the evidence -> `Example.passage` (unhashed); `claim` what a judge
reads without it (default "{question}"); `answer` the candidate field of a task with one row per candidate (one with
`answers` proposes each, the others its alternatives; a binary one "yes" vs "no"). `question` keys per-question scores
(hashed when set); with several questions per passage `group:` names the passage, `question:` each question.

A derived task names no source of its own: `derive: {pairwise_from: TASK}` makes a pairwise task of a
multiple-choice task's rows (tasks/derive.py), e.g. `{name: sciq_pairs, derive: {pairwise_from: sciq}}`;
`derive: {from: TASK}` takes another task's rows as they are (same kind, ids and groups), to transform them.

`transform` rewrites any task's rows (tasks/transforms.py) so that its texts keep their structure but lose what
pretraining knows: `cipher: {seed: 0}` maps every word type to an invented token (one map for all rows and
splits), `rule: {kind: word_parity}` or `rule: {kind: contains, word: the}` replaces the labels of a binary
task by an arbitrary rule on the text, e.g. `{name: sst2_cipher, derive: {from: sst2}, transform: {cipher: {}}}`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from w2sg.config import Spec
from w2sg.tasks.hooks import READERS, ROW_HOOKS
from w2sg.tasks.steps_spec import STEPS_ONLY, StepsFields, check_steps_spec, steps_defaults
from w2sg.tasks.templates import check_template, template_fields


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

    @model_validator(mode="after")
    def _inside_root(self) -> TaskFiles:
        """A relative path stays inside its root (the spec's folder or the data directory)."""
        folder = "the spec's folder (root: spec)" if self.root == "spec" else "the data directory (root: data_dir)"
        named = [("pool", self.pool), ("test", self.test), *((f"also[{i}]", p) for i, p in enumerate(self.also))]
        for key, p in named:
            if p is not None and not p.strip():
                raise ValueError(f"files.{key} is empty: name a data file")
            if p is None or Path(p).is_absolute() or PurePosixPath(p).is_absolute():
                continue
            norm = os.path.normpath(p.replace("\\", "/"))
            if norm == ".." or norm.startswith("../"):
                raise ValueError(f"files.{key} '{p}' leaves {folder}: give a path inside it, or an absolute path")
        return self


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
    """A task made from another task's rows (a task's name, or a YAML spec's path relative to this spec):
    `pairwise_from` names a multiple-choice task, each question giving pairs (correct answer ≻ each wrong
    answer); `from` takes a task's rows as they are (usually with a `transform`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    pairwise_from: str | None = Field(None, min_length=1)
    from_: str | None = Field(None, alias="from", min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> DeriveSpec:
        if (self.pairwise_from is None) == (self.from_ is None):
            raise ValueError("derive takes one source: 'from' (rows as they are) or 'pairwise_from' (pairs of a "
                             "multiple-choice task)")
        return self

    @property
    def source(self) -> str:
        """The source task's name or spec path."""
        src = self.pairwise_from or self.from_
        assert src is not None
        return src

    @property
    def key(self) -> str:
        return "pairwise_from" if self.pairwise_from is not None else "from"


TRANSFORMS = ("cipher", "rule")
PASSAGE_FIELDS = ("context", "claim", "answer", "question")  # a reading task's passage and question key
RULES = ("word_parity", "contains")


class CipherSpec(Spec):
    """Every word type (a run of letters/digits, case-insensitive) -> an invented token drawn with `seed`;
    with `fraction` f < 1 only a random share f of the word types (drawn with `seed`), a graded novelty."""

    seed: int = 0
    fraction: float | None = Field(None, gt=0, le=1, description="share of the word types ciphered (default: "
                                   "all); the rest keep their words")
    hash_neutral: ClassVar[dict[str, Any]] = {"fraction": None}  # unset: hashes from before fraction stand


class RuleSpec(Spec):
    """Labels from a rule on the text: `word_parity` (1 = an even number of whitespace-separated words) or
    `contains` (1 = the text holds `word`, or one of a list of words, as a whole word, case-insensitive)."""

    kind: Literal["word_parity", "contains"]
    word: str | list[str] | None = None

    @model_validator(mode="after")
    def _word(self) -> RuleSpec:
        if self.kind == "contains":
            words = [self.word] if isinstance(self.word, str) else self.word
            if not words or any(not re.fullmatch(r"\w+", w) for w in words):
                raise ValueError("rule 'contains' needs 'word': one word (letters/digits) or a list of them")
        elif self.word is not None:
            raise ValueError(f"rule {self.kind!r} takes no 'word'")
        return self

    @property
    def words(self) -> list[str]:
        return [w.lower() for w in ([self.word] if isinstance(self.word, str) else self.word or [])]


class TransformSpec(Spec):
    """Row transforms (tasks/transforms.py): the rule relabels first (on the original text), then the cipher."""

    cipher: CipherSpec | None = None
    rule: RuleSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data:
            raise ValueError(f"transform maps transform names to options, e.g. {{cipher: {{seed: 0}}}}; "
                             f"known: {', '.join(TRANSFORMS)}")
        unknown = [k for k in data if k not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transform {unknown[0]!r}; known: {', '.join(TRANSFORMS)}")
        return {k: {} if v is None else v for k, v in data.items()}  # `cipher:` alone: the defaults


class YamlTaskSpec(StepsFields):
    """A task defined without Python (see the module docstring for the fields; a steps task's own fields are
    inherited from StepsFields)."""

    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["binary", "multiple_choice", "pairwise", "steps"] = "binary"
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
    transform: TransformSpec | None = None
    meta: list[str] | None = None  # raw fields copied into each row's Example.meta (as strings)
    context: str | None = None  # the evidence passage (field or template) -> Example.passage.context
    claim: str | None = None  # the question a judge reads without the passage -> Passage.question
    answer: str | None = None  # the candidate of a row, for tasks with one row per candidate -> Passage.answer
    question: str | None = None  # the per-question scoring key (field or template) -> Example.question

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        # specs from before `kind` had three values: answers + correct meant multiple choice
        data = steps_defaults(data)  # `generate` or `steps` without a kind: kind steps
        if isinstance(data, dict) and data.get("kind") is None:
            derive = data.get("derive")
            if isinstance(derive, dict) and "from" in derive and "pairwise_from" not in derive:
                return data  # the source task's kind (checked when the task is built)
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

    @field_validator("text", "group", "prompt", "chosen", "rejected", "context", "claim", "answer", "question",
                     "problem", "id")
    @classmethod
    def _template_parses(cls, v: str | None) -> str | None:
        if v is not None:
            check_template(v)
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
        if self.transform is not None and self.transform.rule is not None and self.kind_given \
                and self.kind != "binary":
            raise ValueError(f"transform.rule sets the labels of a binary task's texts; this task is {self.kind}")
        if self.derive is not None:
            if self.derive.pairwise_from is not None and self.kind != "pairwise":
                raise ValueError("derive.pairwise_from makes a task of kind: pairwise")
            own = [k for k in ("files", "hub", "hook", "text", "label", "label_map", "answers", "correct", "group",
                               "prompt", "chosen", "rejected", "meta", *PASSAGE_FIELDS, *STEPS_ONLY)
                   if getattr(self, k) is not None]
            if own:
                raise ValueError(f"a derived task takes its rows from '{self.derive.source}': drop "
                                 f"{', '.join(map(repr, own))}")
            return self
        check_steps_spec(self)
        if self.generate is not None:
            return self
        if self.files is None and self.hub is None:
            raise ValueError("field 'files' (data files) or 'hub' (a Hugging Face dataset) is required")
        self._check_passage()
        if self.hub is not None and self.files is not None and self.files.root != "data_dir":
            raise ValueError("a 'hub' source stands in for files in the data directory: set files.root: data_dir")
        if self.kind == "steps":
            return self
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

    def _check_passage(self) -> None:
        """`context`, `claim`, `answer` and `question` fit the task's kind and each other."""
        given = [k for k in PASSAGE_FIELDS if getattr(self, k) is not None]
        if self.kind == "pairwise" and given:
            raise ValueError(f"{', '.join(map(repr, given))}: passages and question keys are for binary and "
                             "multiple_choice tasks")
        if self.question is not None and self.group is None:
            raise ValueError("'question' keys per-question scoring inside a group (e.g. group: passage_id, question: "
                             "question_id); without 'group' each record is its own group and question: add 'group'")
        if self.context is None and (self.claim is not None or self.answer is not None):
            raise ValueError("'claim' and 'answer' describe a row's passage: declare 'context' (its field) too")
        if self.context is not None and self.multiple_choice and self.answer is not None:
            raise ValueError("'answer': a task with 'answers' proposes each of them in turn ({answer}); drop 'answer'")
        if self.context is not None and self.kind == "multiple_choice" and not (self.multiple_choice or self.answer):
            raise ValueError("'context' on a task with one row per candidate ('label') needs 'answer': the field "
                             "that holds the row's candidate")

    @property
    def kind_given(self) -> bool:
        """False for `derive: {from: ...}` without `kind`: the task then has its source's kind."""
        return "kind" in self.model_fields_set or self.derive is None or self.derive.pairwise_from is not None

    @property
    def multiple_choice(self) -> bool:
        """True when each record expands into one row per candidate answer (answers + correct)."""
        return self.answers is not None


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
