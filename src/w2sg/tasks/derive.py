"""Derived tasks: a pairwise task made from a multiple-choice task's rows (YAML `derive: {pairwise_from: X}`).

For each question (the source task's rows sharing a question key: its `question:`, else its group; as the source
task loads them: de-duplicated, its test texts and groups removed from its pool) every correct candidate is
paired with every wrong one: correct ≻ wrong, all pairs of a question in the question's group (a passage, when
the source names questions apart from groups), so a split never parts them.

The two responses are the candidates' texts after the text the group's candidates share up to its last
newline; that shared part is the prompt. With the built-in templates ("...Question: {question}\\nAnswer:
{answer}") the prompt is the passage and question and a response is "Answer: ...", and since a Comparison
joins prompt and response with a newline, a reward model scores exactly the source task's row texts.
Candidates that share no line get the empty prompt and their whole texts as the responses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from w2sg.tasks.registry import Rows, TaskDef
from w2sg.tasks.rows import finalize, pair_example
from w2sg.tasks.schema import Example

__all__ = ["derived_pairwise_task", "pairs_from_choices", "split_prompt"]


def split_prompt(texts: list[str]) -> tuple[str, list[str]]:
    """(prompt, responses): the prompt is the texts' shared prefix up to its last newline (kept out of both),
    so that prompt + "\\n" + response == text for every text; ("", texts) when they share no full line."""
    shared = os.path.commonprefix(texts)
    cut = shared.rfind("\n")
    while cut > 0 and shared[cut - 1] == "\n":  # a prompt ending in a newline would be joined without one
        cut -= 1
    if cut <= 0:
        return "", list(texts)
    return texts[0][:cut], [t[cut + 1:] for t in texts]


def _pair_id(name: str, good: Example, bad: Example) -> str:
    """`{name}/{correct row id}>{rest of the wrong row's id}`, e.g. sciq_pairs/sciq/sciq_train.jsonl/1/0>1."""
    shared = os.path.commonprefix([good.id, bad.id])
    shared = shared[: shared.rfind("/") + 1]
    return f"{name}/{good.id}>{bad.id[len(shared):]}"


def pairs_from_choices(name: str, rows: list[Example], what: str, notes: list[str]) -> list[Example]:
    """Pairwise rows (correct ≻ wrong, every combination) per question of multiple-choice `rows` (rows sharing a
    `question_key`), in row order, each pair in its question's group; questions that give no pair (no correct or
    no wrong candidate left) are counted in `notes`."""
    groups: dict[str, list[Example]] = {}
    for r in rows:
        groups.setdefault(r.question_key, []).append(r)
    out: list[Example] = []
    no_correct = no_wrong = 0
    for members in groups.values():
        group = members[0].group  # the split unit (a passage with several questions keeps its questions' pairs)
        good = [r for r in members if r.label == 1]
        bad = [r for r in members if r.label != 1]
        if not good or not bad:
            no_correct += not good
            no_wrong += bool(good) and not bad
            continue
        prompt, responses = split_prompt([r.text for r in members])
        response = {r.id: resp for r, resp in zip(members, responses, strict=True)}
        for g in good:
            for b in bad:
                out.append(pair_example(_pair_id(name, g, b), group, prompt, response[g.id], response[b.id]))
    if no_correct:
        notes.append(f"{what}: {no_correct} questions with no correct answer gave no pairs")
    if no_wrong:
        notes.append(f"{what}: {no_wrong} questions with no wrong answer gave no pairs")
    return out


def derived_pairwise_task(name: str, description: str, source: TaskDef, origin: str) -> TaskDef:
    """The pairwise task of a multiple-choice `source`: same data files and Hub dataset, rows derived."""
    if source.kind != "multiple_choice":
        raise ValueError(f"task spec '{origin}': derive.pairwise_from '{source.name}' is a {source.kind} task; "
                         "pairs are derived from a multiple_choice task (candidates grouped per question)")

    def derive(load: Callable[[Any, list[str]], Rows], arg: Any, notes: list[str] | None) -> Rows:
        source_notes: list[str] = []
        pool, test = load(arg, source_notes)
        data = finalize(source.name, pool, test, source.name, source_notes)
        out = notes if notes is not None else []
        out.extend(f"source task {source.name}: {n}" for n in data.notes)
        return (pairs_from_choices(name, data.pool, "pool", out),
                pairs_from_choices(name, data.test, "test", out) if data.test is not None else None)

    def local(root: Any, notes: list[str] | None = None) -> Rows:
        return derive(source.load_local, root, notes)

    def hub(ds: Any, notes: list[str] | None = None) -> Rows:
        return derive(source.load_hub, ds, notes)

    return TaskDef(
        name=name, description=description or f"{source.name} as pairs: per question, the correct answer ≻ each "
                                              "wrong one",
        hub_id=source.hub_id, hub_config=source.hub_config, hub_data_dir=source.hub_data_dir,
        local=local if source.local is not None else None, hub=hub if source.hub is not None else None,
        kind="pairwise", files=source.files, standalone=source.standalone, origin=origin, takes_notes=True,
    )
