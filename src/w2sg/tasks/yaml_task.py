"""Tasks from YAML specs (tasks/spec.py): records from files or the Hub -> rows, and the TaskDef of a spec.

A `steps` task's records are candidate solutions (tasks/steps_yaml.py reads them); one with `generate` is a
generated chain task (tasks/chains.py).

The built-in tasks are such specs, shipped as package data in src/w2sg/tasks/builtin/*.yaml.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from w2sg.items import Passage
from w2sg.tasks.chains import chain_task
from w2sg.tasks.checks import choice_note, describe, identical_pairs
from w2sg.tasks.derive import derived_pairwise_task
from w2sg.tasks.hooks import READERS, ROW_HOOKS, HookContext, Record
from w2sg.tasks.registry import Rows, TaskDef, registered
from w2sg.tasks.rows import MalformedRowError, field, iter_records, pair_example, parse_index, parse_label
from w2sg.tasks.schema import Example
from w2sg.tasks.spec import YamlTaskSpec, load_yaml_task_spec, parse_yaml_task_spec
from w2sg.tasks.steps_yaml import repeated_prefixes, solution_rows
from w2sg.tasks.transforms import transformed_task

__all__ = ["YamlTaskSpec", "builtin_tasks", "load_yaml_task_spec", "read_hub_split", "read_yaml_task_file",
           "records_to_rows", "task_from_spec", "task_from_yaml"]

BUILTIN_DIR = "builtin"  # inside the w2sg.tasks package


def _render(template: str, row: dict, path: Path | str, line: int | None, what: str = "text template",
            **extra: Any) -> str:
    try:
        return template.format(**{**row, **extra})
    except KeyError as e:
        raise MalformedRowError(path, line, f"missing field {e} used in the {what} (the row has {len(row)} fields; "
                                            "check the template's names against the file's header or keys)") from None
    except (IndexError, ValueError, AttributeError) as e:
        raise MalformedRowError(path, line, f"cannot fill the {what}: {e}") from None


def _value(mapping: str, row: dict, path: Path | str, line: int | None, what: str) -> str:
    """A mapping is a field name, or a template when it contains "{"."""
    if "{" in mapping:
        return _render(mapping, row, path, line, what=f"'{what}' template")
    return str(field(row, mapping, path, line))


def _json_list(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("["):  # a JSON list inside a CSV cell
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return value


def _answers(spec: YamlTaskSpec, row: dict, path: Path | str, line: int | None) -> list[Any]:
    if isinstance(spec.answers, list):
        return [field(row, a, path, line) for a in spec.answers]
    assert spec.answers is not None
    value = _json_list(field(row, spec.answers, path, line))
    if not isinstance(value, list) or len(value) < 2:
        raise MalformedRowError(path, line, f"field '{spec.answers}' must hold a list of at least 2 answers")
    return value


def _labels(value: Any, n: int, path: Path | str, line: int | None, name: str) -> list[int]:
    """0/1 per answer from the index of the correct one, or from a list of per-answer 0/1 flags."""
    value = _json_list(value)
    if isinstance(value, list):
        if len(value) != n or any(v not in (0, 1) for v in value):
            raise MalformedRowError(path, line, f"field '{name}' holds {describe(value)}: expected {n} flags of 0/1 "
                                                "(one per answer) or the index of the correct answer")
        return [int(v) for v in value]
    correct = parse_index(value, n, path, line)
    return [int(k == correct) for k in range(n)]


def _unlabelled(spec: YamlTaskSpec, row: dict) -> bool:
    """Hub test splits (GLUE style) mark unlabelled rows with -1 (or null) in the label or answer index."""
    key = spec.label or spec.correct
    return key is not None and key in row and (row[key] is None or str(row[key]).strip() == "-1")


def _meta(spec: YamlTaskSpec, row: dict, path: Path | str, line: int | None) -> tuple[tuple[str, str], ...] | None:
    """The record's fields named by `meta`, as strings (null: ""), or None when the spec names none."""
    if not spec.meta:
        return None
    for name in spec.meta:
        if name not in row:
            field(row, name, path, line)  # raises: the record lacks the field
    return tuple((name, "" if row[name] is None else str(row[name])) for name in spec.meta)


def _claim(spec: YamlTaskSpec, row: dict, path: Path | str, line: int | None) -> str:
    """The question a judge reads without the passage: `claim:`, else the record's `question` field."""
    if spec.claim is not None:
        return _value(spec.claim, row, path, line, "claim").strip()
    if "question" not in row:
        raise MalformedRowError(path, line, "the record has no field 'question', the default claim of a task "
                                            "with 'context': declare 'claim:' (the question a judge reads without "
                                            "the passage, a field or a template such as \"{query}?\")")
    return str(field(row, "question", path, line)).strip()


def _passages(spec: YamlTaskSpec, row: dict, path: Path | str, line: int | None,
              candidates: list[Any] | None) -> list[Passage] | None:
    """The passage of each row a record yields (None when the spec declares no `context`): per candidate of a
    multiple-choice record (the others are its alternatives), else one ("yes" vs "no" on a binary task without
    `answer:`; the `answer:` field, without alternatives, on a task of one row per candidate)."""
    if spec.context is None:
        return None
    context = _value(spec.context, row, path, line, "context").strip()
    claim = _claim(spec, row, path, line)
    if candidates is not None:
        texts = [str(a).strip() for a in candidates]
        return [Passage(context, claim, a, tuple(texts[:k] + texts[k + 1:])) for k, a in enumerate(texts)]
    if spec.answer is not None:
        return [Passage(context, claim, _value(spec.answer, row, path, line, "answer").strip())]
    return [Passage(context, claim, "yes", ("no",))]


def records_to_rows(spec: YamlTaskSpec, records: list[Record], prefix: str, path: Path | str,
                    skip_unlabelled: bool = False, notes: list[str] | None = None) -> list[Example]:
    """Rows of one file or split. A record keyed `key` yields ids `{prefix}/{key}/{k}` (k: its k-th row).
    With `context:` each row carries its `passage`, with `question:` its `question` key.
    What the data checks find (tasks/checks.py) is appended to `notes`."""
    out: list[Example] = []
    lines: list[int | None] = []  # the line (Hub: row index) of each row of `out`
    solutions: dict[str, int | None] = {}  # a steps task's solution ids -> their line
    for key, row in records:
        if skip_unlabelled and _unlabelled(spec, row):
            continue
        n_before = len(out)
        base, line = f"{prefix}/{key}", key if isinstance(key, int) else None
        group = _value(spec.group, row, path, line, "group") if spec.group else None
        passages: list[Passage] | None = None
        if spec.kind == "steps":
            assert spec.group is not None and group is not None
            out += solution_rows(spec, row, path, line, prefix, key, group, _value, solutions)
            lines += [line] * (len(out) - n_before)
            continue
        if spec.kind == "pairwise":
            assert spec.chosen and spec.rejected
            prompt = _value(spec.prompt, row, path, line, "prompt") if spec.prompt else ""
            chosen = _value(spec.chosen, row, path, line, "chosen")
            rejected = _value(spec.rejected, row, path, line, "rejected")
            out.append(pair_example(f"{base}/0", group or f"{base}/0", prompt, chosen, rejected))
        elif spec.multiple_choice:
            assert spec.text and spec.correct
            answers = _answers(spec, row, path, line)
            labels = _labels(field(row, spec.correct, path, line), len(answers), path, line, spec.correct)
            for k, (a, lab) in enumerate(zip(answers, labels, strict=True)):
                text = _render(spec.text, row, path, line, answer=a)
                out.append(Example(f"{base}/{k}", group or base, text.strip(), lab))
            passages = _passages(spec, row, path, line, answers)
        else:
            assert spec.text and spec.label
            label = parse_label(field(row, spec.label, path, line), path, line, spec.label_map, spec.label)
            if label is None:  # label_map drops this value
                continue
            text = _render(spec.text, row, path, line)
            out.append(Example(f"{base}/0", group or f"{base}/0", text.strip(), label))
            passages = _passages(spec, row, path, line, None)
        meta = _meta(spec, row, path, line)
        if meta is not None:
            out[n_before:] = [dataclasses.replace(r, meta=meta) for r in out[n_before:]]
        if passages is not None:
            out[n_before:] = [dataclasses.replace(r, passage=p) for r, p in zip(out[n_before:], passages, strict=True)]
        if spec.question is not None:
            question = _value(spec.question, row, path, line, "question")
            out[n_before:] = [dataclasses.replace(r, question=question) for r in out[n_before:]]
        lines += [line] * (len(out) - n_before)
    _check(spec, out, lines, path, notes)
    return out


def _check(spec: YamlTaskSpec, rows: list[Example], lines: list[int | None], path: Path | str,
           notes: list[str] | None) -> None:
    """The data checks of one file or split's rows: a note appended to `notes`, or an error."""
    unit = "lines" if isinstance(path, Path) else "rows"
    if spec.kind == "steps":
        note = repeated_prefixes(rows, str(path))
    elif spec.kind == "pairwise":
        assert spec.chosen and spec.rejected
        note = identical_pairs(rows, lines, str(path), unit, (spec.chosen, spec.rejected))
    else:
        note = choice_note(rows, lines, str(path), unit) if spec.kind == "multiple_choice" else None
    if note is not None and notes is not None:
        notes.append(note)


def _hooked(spec: YamlTaskSpec, records: list[Record], source: Literal["files", "hub"], where: str,
            notes: list[str] | None) -> list[Record]:
    if spec.hook is None:
        return records
    ctx = HookContext(source=source, where=where, rng=random.Random(0), template=spec.text)
    out = ROW_HOOKS[spec.hook](records, ctx)
    if notes is not None:
        notes.extend(ctx.notes)
    return out


def read_yaml_task_file(spec: YamlTaskSpec, path: Path, notes: list[str] | None = None) -> list[Example]:
    """The rows of one data file of a spec (what a row hook dropped is appended to `notes`)."""
    files = spec.files
    if files is not None and files.reader is not None:
        records = list(READERS[files.reader](path))
    else:
        opts = files.csv if files is not None else None
        records = list(iter_records(path) if opts is None else iter_records(
            path, header=opts.header, columns=opts.columns, delimiter=opts.delimiter,
            quoting=csv.QUOTE_NONE if opts.quoting == "none" else csv.QUOTE_MINIMAL,
        ))
    return records_to_rows(spec, _hooked(spec, records, "files", str(path), notes), f"{spec.name}/{path.name}",
                           path, notes=notes)


def read_hub_split(spec: YamlTaskSpec, ds: Any, split: str, notes: list[str] | None = None) -> list[Example]:
    """The rows of one split of a Hub dataset (ids `{name}/hub:{split}/{row index}/{k}`)."""
    assert spec.hub is not None
    where = f"hf://{spec.hub.id}" + "".join(f"/{p}" for p in (spec.hub.config, spec.hub.data_dir) if p) + f":{split}"
    records = [(i, dict(r)) for i, r in enumerate(ds[split])]
    return records_to_rows(spec, _hooked(spec, records, "hub", where, notes), f"{spec.name}/hub:{split}", where,
                           skip_unlabelled=True, notes=notes)


Lookup = Callable[[str], TaskDef]  # a task by name (or a YAML spec by path)


def _lookup_registered(name: str) -> TaskDef:
    try:
        return registered()[name]
    except KeyError:
        raise ValueError(f"task '{name}' is not registered: load derived tasks with w2sg.tasks.get_task") from None


def _derived(spec: YamlTaskSpec, base_dir: Path | None, origin: str, lookup: Lookup | None) -> TaskDef:
    assert spec.derive is not None
    name, key = spec.derive.source, spec.derive.key
    if name.lower().endswith((".yaml", ".yml")):
        name = str((base_dir / name).resolve()) if base_dir is not None else name
        if Path(name).is_file() and load_yaml_task_spec(name).derive is not None:  # (no chains, no loops)
            raise ValueError(f"task spec '{origin}': derive.{key} '{spec.derive.source}' is itself a derived "
                             "task; derive from a task with a source of its own")
    try:
        source = (lookup or _lookup_registered)(name)
    except ValueError as e:
        raise ValueError(f"task spec '{origin}': derive.{key}: {e}") from None
    if spec.derive.pairwise_from is not None:
        return derived_pairwise_task(spec.name, spec.description, source, origin)
    if spec.kind_given and spec.kind != source.kind:
        raise ValueError(f"task spec '{origin}': kind {spec.kind!r}, but derive.from '{source.name}' is a "
                         f"{source.kind} task (a task derived with 'from' has its source's kind)")
    return dataclasses.replace(source, name=spec.name, origin=origin,
                               description=spec.description or f"{source.name}'s rows")


def task_from_spec(spec: YamlTaskSpec, base_dir: Path | None, origin: str, lookup: Lookup | None = None) -> TaskDef:
    """The TaskDef of a validated spec; `base_dir` resolves files with root: spec (the YAML file's folder);
    `lookup` finds the source task of a derived spec (default: the registry)."""
    if spec.transform is not None:
        plain = task_from_spec(spec.model_copy(update={"transform": None}), base_dir, origin, lookup)
        if plain.kind == "steps":
            raise ValueError(f"task spec '{origin}': 'transform' rewrites a task's texts; the steps task "
                             f"'{plain.name}' has rows that carry their steps too: drop 'transform'")
        return transformed_task(plain, spec.transform, origin)
    if spec.derive is not None:
        return _derived(spec, base_dir, origin, lookup)
    if spec.generate is not None:
        labels = spec.labels or "step"
        return chain_task(spec.name, spec.generate.chain_spec(labels), spec.description or
                          f"arithmetic chains, {labels} labels", origin)
    local = hub = None
    files: tuple[str, ...] = ()
    standalone = False
    if spec.files is not None:
        f = spec.files
        standalone = f.root == "spec"  # absolute paths; else relative to the data directory
        if standalone and base_dir is None:
            raise ValueError(f"task spec '{origin}': files relative to the spec need the spec's folder")

        def resolve(p: str) -> str:
            return str((base_dir / p).resolve()) if standalone and base_dir is not None else p

        pool, test = resolve(f.pool), (resolve(f.test) if f.test else None)
        files = tuple(p for p in (pool, test, *map(resolve, f.also)) if p is not None)

        def local(root: Path, notes: list[str] | None = None) -> Rows:
            return (read_yaml_task_file(spec, root / pool, notes),
                    read_yaml_task_file(spec, root / test, notes) if test else None)

    if spec.hub is not None:
        splits = spec.hub.splits

        def hub(ds: Any, notes: list[str] | None = None) -> Rows:
            return read_hub_split(spec, ds, splits.pool, notes), (read_hub_split(spec, ds, splits.test, notes)
                                                                  if splits.test else None)

    return TaskDef(
        name=spec.name, description=spec.description or f"user task from {origin}",
        hub_id=spec.hub.id if spec.hub else None, hub_config=spec.hub.config if spec.hub else None,
        hub_data_dir=spec.hub.data_dir if spec.hub else None, local=local, hub=hub, kind=spec.kind, files=files,
        standalone=standalone, origin=origin, takes_notes=True,
    )


def task_from_yaml(path: str | Path, lookup: Lookup | None = None) -> TaskDef:
    """A TaskDef for a YAML spec (files resolved relative to the YAML file unless files.root: data_dir);
    `lookup` finds the source task of a derived spec (w2sg.tasks.get_task does; default: the registry)."""
    path = Path(path)
    return task_from_spec(load_yaml_task_spec(path), path.resolve().parent, str(path), lookup)


def builtin_tasks() -> list[TaskDef]:
    """The built-in tasks: every *.yaml packaged in w2sg/tasks/builtin/, in name order. A derived built-in
    takes its source from the other built-ins (else from the registry)."""
    folder = resources.files(__package__).joinpath(BUILTIN_DIR)
    specs = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            where = f"w2sg/tasks/{BUILTIN_DIR}/{entry.name}"
            specs[where] = parse_yaml_task_spec(entry.read_text(encoding="utf-8"), where)
    plain = {s.name: task_from_spec(s, None, where) for where, s in specs.items() if s.derive is None}

    def lookup(name: str) -> TaskDef:
        return plain[name] if name in plain else _lookup_registered(name)

    return [task_from_spec(s, None, where, lookup) if s.derive else plain[s.name] for where, s in specs.items()]
