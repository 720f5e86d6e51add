"""Named Python hooks for the few data formats a YAML task spec cannot express; YAML refers to them by name.

Two kinds:

- a *reader* (`files: {reader: NAME}`) turns one data file that is not JSON/JSONL/CSV/TSV into records:
  it yields (key, record dict); the key names the row in ids and messages (a line number, or an id);
- a *row hook* (`hook: NAME`) rewrites the records of one file or one Hub split before they become rows
  (it may add fields, or drop records). It gets a HookContext with a fresh `random.Random(0)` per file/split
  and a `notes` list: a hook that drops records says how many there, and the task's notes show it.

The spec's one text template then formats the records, whether they came from the data dir or the Hub.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import string
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Literal

from w2sg.tasks.rows import MalformedRowError, field, open_text

Record = tuple[Any, dict]  # (key: line number or id, fields)


@dataclass
class HookContext:
    """Where the records of a row hook come from: `source` 'files' (`where` = the path) or 'hub' (a split)."""

    source: Literal["files", "hub"]
    where: str
    rng: random.Random
    template: str | None = None  # the spec's text template
    notes: list[str] = dataclass_field(default_factory=list)  # what the hook dropped, for the task's notes

    def note(self, n: int, what: str) -> None:
        """Record that `n` records were dropped because `what` (nothing when n is 0)."""
        if n:
            self.notes.append(f"{os.path.basename(self.where)}: dropped {n} {what}")


Reader = Callable[[Path], Iterator[Record]]
RowHook = Callable[[list[Record], HookContext], list[Record]]

READERS: dict[str, Reader] = {}
ROW_HOOKS: dict[str, RowHook] = {}


def register_reader(name: str, fn: Reader | None = None):
    """Register a reader under `name` (usable as a decorator)."""
    if fn is None:
        return lambda f: register_reader(name, f)
    READERS[name] = fn
    return fn


def register_row_hook(name: str, fn: RowHook | None = None):
    """Register a row hook under `name` (usable as a decorator)."""
    if fn is None:
        return lambda f: register_row_hook(name, f)
    ROW_HOOKS[name] = fn
    return fn


def _line(key: Any) -> int | None:
    return key if isinstance(key, int) else None


# --- readers ------------------------------------------------------------------------------------------------


@register_reader("quail_xml")
def read_quail_xml(path: Path) -> Iterator[Record]:
    """QuAIL's XML: one record per question, keyed by `<text id>_<q id>`, fields named as on the Hub
    (`context_id` is the text's id: the passage that several questions share).

    `correct_answer_id` is the index of the answer marked correct="True", or per-answer 0/1 flags when
    not exactly one is (wrong answers often carry no attribute at all).
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise MalformedRowError(path, e.position[0], f"bad XML: {e}") from e
    for doc in root.iter("text"):
        doc_id, body = doc.get("id"), doc.find("text_body")
        if doc_id is None or body is None or body.text is None:
            raise MalformedRowError(path, None, "a <text> element lacks an id or a <text_body>")
        passage = body.text.strip()
        for q in doc.iter("q"):
            qid = f"{doc_id}_{q.get('id')}"
            flags = []
            for k, a in enumerate(q.findall("a")):
                flag = a.get("correct", "False")
                if flag not in ("True", "False"):
                    raise MalformedRowError(path, None, f"answer {k} of a question: its 'correct' attribute is "
                                                        "neither True nor False")
                flags.append(int(flag == "True"))
            correct: int | list[int] = flags.index(1) if sum(flags) == 1 else flags
            yield qid, {"id": qid, "context_id": doc_id, "context": passage, "question": (q.text or "").strip(),
                        "answers": [(a.text or "").strip() for a in q.findall("a")], "correct_answer_id": correct}


@register_reader("tweets")
def read_tweets(text_path: Path) -> Iterator[Record]:
    """TweetEval: `<split>_text.txt` with its line-aligned `<split>_labels.txt` (0 neg, 1 neutral, 2 pos)."""
    label_path = text_path.with_name(text_path.name.replace("_text.txt", "_labels.txt"))
    texts, labels = (open_text(p).read().split("\n") for p in (text_path, label_path))  # lone \r stays
    for lst in (texts, labels):
        if lst and lst[-1] == "":
            lst.pop()
    if len(texts) != len(labels):
        raise MalformedRowError(label_path, min(len(texts), len(labels)) + 1,
                                f"{len(labels)} labels for {len(texts)} lines of {text_path.name}")
    for i, (text, lab) in enumerate(zip(texts, labels, strict=True), start=1):
        if lab.strip() not in ("0", "1", "2"):
            raise MalformedRowError(label_path, i, "bad label (expected 0, 1 or 2)")
        yield i, {"text": text, "label": lab.strip()}


# --- row hooks ----------------------------------------------------------------------------------------------


@register_row_hook("sciq_negatives")
def sciq_negatives(records: list[Record], ctx: HookContext) -> list[Record]:
    """SciQ as 2-way multiple choice: `answers` = [correct answer, one wrong answer], `correct` = 0.

    With distractor fields (the Hub), the wrong answer is a seeded pick among them; without (the offline
    answers-only files), another question's answer, redrawn while it equals the correct one.
    """
    if records and "distractor1" in records[0][1]:
        out = []
        for key, r in records:
            neg = ctx.rng.choice([r["distractor1"], r["distractor2"], r["distractor3"]])
            out.append((key, {**r, "answers": [r["correct_answer"], neg], "correct": 0,
                              "question_group": r["question"].strip()}))
        return out
    items = [(key, r, str(field(r, "question", ctx.where, _line(key))), str(field(r, "answer", ctx.where, _line(key))))
             for key, r in records]
    answers = [a for *_, a in items]
    out = []
    for key, r, q, a in items:
        for _ in range(1000):
            neg = answers[ctx.rng.randrange(len(answers))]
            if neg.strip().lower() != a.strip().lower():
                break
        else:
            raise ValueError(f"{ctx.where}: no negative answer for line {key}: all answers are equal")
        out.append((key, {**r, "question": q, "answers": [a, neg], "correct": 0, "question_group": q.strip()}))
    return out


@register_row_hook("cosmos_question_id")
def cosmos_question_id(records: list[Record], ctx: HookContext) -> list[Record]:
    """`question_id`: one key per (context, question). The offline file repeats a question under several
    ids: the first id stands for all. On the Hub the key is context + newline + question (as before)."""
    out, first_id = [], {}
    for key, r in records:
        line = _line(key)
        context, question = field(r, "context", ctx.where, line), field(r, "question", ctx.where, line)
        if ctx.source == "hub":
            qid = f"{context}\n{question}"
        else:
            qid = first_id.setdefault((context, question), field(r, "id", ctx.where, line))
        out.append((key, {**r, "question_id": qid}))
    return out


@register_row_hook("ethics_virtue")
def ethics_virtue(records: list[Record], ctx: HookContext) -> list[Record]:
    """ETHICS virtue: `scenario` is "sentence [SEP] trait"; adds `sentence`, `trait` and `sentence_group`."""
    out = []
    for key, r in records:
        parts = str(field(r, "scenario", ctx.where, _line(key))).split(" [SEP] ")
        if len(parts) != 2:
            raise MalformedRowError(ctx.where, _line(key),
                                    "virtue scenario lacks exactly one ' [SEP] ' before the trait")
        out.append((key, {**r, "sentence": parts[0], "trait": parts[1], "sentence_group": parts[0].strip()}))
    return out


@register_row_hook("ethics_utilitarianism")
def ethics_utilitarianism(records: list[Record], ctx: HookContext) -> list[Record]:
    """A seeded fair coin per (more pleasant `baseline`, `less_pleasant`) row: scenario A = baseline and
    label 1, or the two swapped and label 0."""
    out = []
    for key, r in records:
        a, b = field(r, "baseline", ctx.where, _line(key)), field(r, "less_pleasant", ctx.where, _line(key))
        first = ctx.rng.random() < 0.5
        out.append((key, {**r, "scenario_a": a if first else b, "scenario_b": b if first else a,
                          "label": int(first)}))
    return out


ASSISTANT = "\n\nAssistant:"


@register_row_hook("hh_final_turns")
def hh_final_turns(records: list[Record], ctx: HookContext) -> list[Record]:
    """Anthropic HH-RLHF: `chosen` and `rejected` are whole dialogues ("\n\nHuman: ... \n\nAssistant: ...")
    that share a prefix and differ in the last assistant turn. Adds `prompt` (the shared prefix up to and
    including its last "\n\nAssistant:", outer whitespace stripped), `chosen_turn` and `rejected_turn` (the
    two final turns, stripped) and `prompt_group` (a hash of the prompt: one group per conversation).

    Drops (and notes) pairs with no "\n\nAssistant:" in the shared prefix and pairs whose final turns are
    the same. A final turn may itself hold "\n\nAssistant:" (a model that wrote further turns): it stays.
    """
    out, no_split, same = [], 0, 0
    for key, r in records:
        chosen = str(field(r, "chosen", ctx.where, _line(key)))
        rejected = str(field(r, "rejected", ctx.where, _line(key)))
        shared = os.path.commonprefix([chosen, rejected])
        cut = shared.rfind(ASSISTANT)
        if cut < 0:
            no_split += 1
            continue
        cut += len(ASSISTANT)
        good, bad = chosen[cut:].strip(), rejected[cut:].strip()
        if good == bad:
            same += 1
            continue
        prompt = chosen[:cut].strip()
        group = "hh:" + hashlib.sha256(prompt.encode()).hexdigest()[:16]
        out.append((key, {**r, "prompt": prompt, "chosen_turn": good, "rejected_turn": bad, "prompt_group": group}))
    ctx.note(no_split, 'pairs with no "\\n\\nAssistant:" in the prefix the two dialogues share')
    ctx.note(same, "pairs whose final assistant turns are the same")
    return out


def template_regex(template: str) -> re.Pattern:
    """A regex that matches what `template` renders to, capturing each field (a repeat must match the same)."""
    parts, seen = [], set()
    for literal, name, spec, conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if spec or conv or not name.isidentifier():
            raise ValueError(f"template {template!r}: only plain {{field}} placeholders can be parsed back")
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    return re.compile("".join(parts), re.S)


@register_row_hook("text_fields")
def text_fields(records: list[Record], ctx: HookContext) -> list[Record]:
    """For files that hold each row already rendered (WiC offline: a `text` field): get the template's fields
    back from `text` by matching the template, so one template serves them and the Hub's separate fields.
    Records that already hold every field of the template pass through."""
    if not ctx.template:
        raise ValueError("hook 'text_fields' needs the spec's text template")
    pattern = template_regex(ctx.template)
    names = set(pattern.groupindex)
    out = []
    for key, r in records:
        if not names <= set(r):
            text = str(field(r, "text", ctx.where, _line(key)))
            m = pattern.fullmatch(text)
            if m is None:
                raise MalformedRowError(ctx.where, _line(key),
                                        f"field 'text' does not match the template {ctx.template!r}")
            r = {**r, **m.groupdict()}
        out.append((key, r))
    return out
