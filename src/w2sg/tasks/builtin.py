"""The 13 built-in binary tasks over the offline files in shared/data (see each folder's SOURCE.md)."""

from __future__ import annotations

import csv
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from w2sg.tasks.registry import Rows, TaskDef, register_task
from w2sg.tasks.rows import (
    MalformedRowError,
    field,
    iter_csv,
    iter_json_array,
    iter_jsonl,
    open_text,
    parse_index,
)
from w2sg.tasks.schema import Example


def _strict01(value: str, path: Path, line: int) -> int:
    if value.strip() not in ("0", "1"):
        raise MalformedRowError(path, line, f"bad label {value!r} (expected 0 or 1)")
    return int(value)


def _one(task: str, path: Path, line: int | str, k: int, text: str, label: int, group: str | None = None):
    id_ = f"{task}/{path.name}/{line}/{k}"
    return Example(id=id_, group=group if group is not None else id_, text=text.strip(), label=label)


def _pool_test(read: Callable[[Path], list[Example]], pool: str, test: str | None) -> Callable[[Path], Rows]:
    def load(root: Path) -> Rows:
        return read(root / pool), (read(root / test) if test else None)

    return load


def _add(name: str, description: str, hub_id: str, hub_config: str | None, read, pool: str,
         test: str | None, hub_loader) -> None:
    register_task(TaskDef(
        name=name, description=description, hub_id=hub_id, hub_config=hub_config,
        local=_pool_test(read, pool, test), hub=hub_loader, files=(pool,) + ((test,) if test else ()),
    ), overwrite=True)


# --- readers (one per file format), each returning the binary rows of one file -------------------------


def read_sst2(path: Path) -> list[Example]:
    return [_one("sst2", path, line, 0, field(r, "sentence", path, line),
                 _strict01(field(r, "label", path, line), path, line))
            for line, r in iter_csv(path, delimiter="\t", quoting=csv.QUOTE_NONE)]


def sciq_rows(task: str, path: Path, items: list[tuple[int | str, str, str]], rng: random.Random):
    """Positive (q, answer) and one negative per question, its answer drawn from other questions' answers."""
    answers = [a for _, _, a in items]
    out = []
    for line, q, a in items:
        for _ in range(1000):
            neg = answers[rng.randrange(len(answers))]
            if neg.strip().lower() != a.strip().lower():
                break
        else:
            raise ValueError(f"{path}: no negative answer for line {line}: all answers are equal")
        out.append(_one(task, path, line, 0, f"Question: {q}\nAnswer: {a}", 1, group=q.strip()))
        out.append(_one(task, path, line, 1, f"Question: {q}\nAnswer: {neg}", 0, group=q.strip()))
    return out


def read_sciq(path: Path) -> list[Example]:
    items = [(line, str(field(r, "question", path, line)), str(field(r, "answer", path, line)))
             for line, r in iter_jsonl(path)]
    return sciq_rows("sciq", path, items, random.Random(0))


def read_boolq(path: Path) -> list[Example]:
    out = []
    for line, r in iter_json_array(path):
        answer = field(r, "answer", path, line)
        if not isinstance(answer, bool):
            raise MalformedRowError(path, line, f"bad label {answer!r} in 'answer' (expected true/false)")
        text = f"Passage: {field(r, 'passage', path, line)}\nQuestion: {field(r, 'question', path, line)}?"
        out.append(_one("boolq", path, line, 0, text, int(answer)))
    return out


def read_cosmos_qa(path: Path) -> list[Example]:
    out, first_id = [], {}  # the same (context, question) recurs under several ids: one group for all
    for line, r in iter_csv(path):
        qid, context, question = (field(r, k, path, line) for k in ("id", "context", "question"))
        qid = first_id.setdefault((context, question), qid)
        answers = [field(r, f"answer{k}", path, line) for k in range(4)]
        correct = parse_index(field(r, "label", path, line), 4, path, line)
        for k, a in enumerate(answers):
            text = f"{context}\nQuestion: {question}\nAnswer: {a}"
            out.append(_one("cosmos_qa", path, line, k, text, int(k == correct), group=qid))
    return out


def read_quail_xml(path: Path) -> list[Example]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise MalformedRowError(path, e.position[0], f"bad XML: {e}") from e
    out = []
    for doc in root.iter("text"):
        doc_id, body = doc.get("id"), doc.find("text_body")
        if doc_id is None or body is None or body.text is None:
            raise MalformedRowError(path, None, f"<text id={doc_id!r}> lacks an id or a <text_body>")
        passage = body.text.strip()
        for q in doc.iter("q"):
            qid = f"{doc_id}_{q.get('id')}"
            for k, a in enumerate(q.findall("a")):
                flag = a.get("correct", "False")  # wrong answers often carry no attribute at all
                if flag not in ("True", "False"):
                    raise MalformedRowError(path, None, f"question {qid}, answer {k}: correct={flag!r}")
                text = f"{passage}\nQuestion: {(q.text or '').strip()}\nAnswer: {(a.text or '').strip()}"
                out.append(_one("quail", path, qid, k, text, int(flag == "True"), group=qid))
    return out


def read_mc_taco(path: Path) -> list[Example]:
    out = []
    for line, (sentence, question, answer, label, _category) in iter_csv(
        path, delimiter="\t", header=False, quoting=csv.QUOTE_NONE, ncols=5
    ):
        if label not in ("yes", "no"):
            raise MalformedRowError(path, line, f"bad label {label!r} (expected yes/no)")
        text = f"{sentence}\nQuestion: {question}\nAnswer: {answer}"
        out.append(_one("mc_taco", path, line, 0, text, int(label == "yes"), group=f"{sentence}\n{question}"))
    return out


def _ethics_reader(task: str, make: Callable[[dict, Path, int], tuple[str, str | None]]):
    def read(path: Path) -> list[Example]:
        out = []
        for line, r in iter_csv(path):
            text, group = make(r, path, line)
            out.append(_one(task, path, line, 0, text, _strict01(field(r, "label", path, line), path, line),
                            group=group))
        return out

    return read


def _virtue(r: dict, path: Path, line: int) -> tuple[str, str]:
    parts = field(r, "scenario", path, line).split(" [SEP] ")
    if len(parts) != 2:
        raise MalformedRowError(path, line, "virtue scenario lacks exactly one ' [SEP] ' before the trait")
    return f"{parts[0]}\nTrait: {parts[1]}", parts[0].strip()


read_justice = _ethics_reader("ethics_justice", lambda r, p, n: (field(r, "scenario", p, n), None))
read_deontology = _ethics_reader(  # one request has several excuses: keep them together
    "ethics_deontology",
    lambda r, p, n: (f"{field(r, 'scenario', p, n)} {field(r, 'excuse', p, n)}", field(r, "scenario", p, n)),
)
read_virtue = _ethics_reader("ethics_virtue", _virtue)
read_commonsense = _ethics_reader("ethics_commonsense", lambda r, p, n: (field(r, "input", p, n), None))


def util_rows(task: str, path: Path, pairs, rng: random.Random) -> list[Example]:
    """A fair coin per (more pleasant a, less pleasant b) row: (A=a, B=b) label 1, or swapped, label 0."""
    out = []
    for line, a, b in pairs:
        if rng.random() < 0.5:
            out.append(_one(task, path, line, 0, f"Scenario A: {a}\nScenario B: {b}", 1))
        else:
            out.append(_one(task, path, line, 0, f"Scenario A: {b}\nScenario B: {a}", 0))
    return out


def read_util(path: Path) -> list[Example]:
    pairs = [(line, a, b) for line, (a, b) in iter_csv(path, header=False, ncols=2)]
    return util_rows("ethics_utilitarianism", path, pairs, random.Random(0))


def read_wic(path: Path) -> list[Example]:
    out = []
    for line, r in iter_jsonl(path):
        label = field(r, "label", path, line)
        if label not in (0, 1) or isinstance(label, bool):
            raise MalformedRowError(path, line, f"bad label {label!r} (expected 0 or 1)")
        out.append(_one("wic", path, line, 0, str(field(r, "text", path, line)), label))
    return out


def read_tweets(text_path: Path) -> list[Example]:
    """`<split>_text.txt` with its line-aligned `<split>_labels.txt` (0 neg, 1 neutral: dropped, 2 pos)."""
    label_path = text_path.with_name(text_path.name.replace("_text.txt", "_labels.txt"))
    texts, labels = (open_text(p).read().split("\n") for p in (text_path, label_path))  # lone \r stays
    for lst in (texts, labels):
        if lst and lst[-1] == "":
            lst.pop()
    if len(texts) != len(labels):
        raise MalformedRowError(label_path, min(len(texts), len(labels)) + 1,
                                f"{len(labels)} labels for {len(texts)} lines of {text_path.name}")
    out = []
    for i, (text, lab) in enumerate(zip(texts, labels, strict=True), start=1):
        if lab.strip() not in ("0", "1", "2"):
            raise MalformedRowError(label_path, i, f"bad label {lab!r} (expected 0, 1 or 2)")
        if lab.strip() != "1":
            out.append(_one("twitter_sentiment", text_path, i, 0, text, int(lab.strip() == "2")))
    return out


# --- Hugging Face Hub formatters (used only when no data directory is found; same text templates) -------


def _hub_loader(task: str, pool: str, test: str | None, fmt):
    """fmt(row, rng) -> [(text, label, group or None)]; [] skips the row (e.g. unlabelled, neutral)."""

    def load(ds) -> Rows:
        out = []
        for split in (pool, test):
            if split is None:
                out.append(None)
                continue
            rng, rows = random.Random(0), []
            for i, r in enumerate(ds[split]):
                for k, (text, label, group) in enumerate(fmt(r, rng)):
                    id_ = f"{task}/hub:{split}/{i}/{k}"
                    rows.append(Example(id=id_, group=group or id_, text=text.strip(), label=int(label)))
            out.append(rows)
        return out[0], out[1]

    return load


def _labelled(r: dict) -> bool:
    return r.get("label", 0) is not None and r.get("label", 0) >= 0  # GLUE-style test splits use -1


def _mc(context: str, question: str, answers: list[str], correct: int, group: str):
    return [(f"{context}\nQuestion: {question}\nAnswer: {a}", int(k == correct), group)
            for k, a in enumerate(answers)]


def _sciq_fmt(r: dict, rng: random.Random):
    q, a = r["question"], r["correct_answer"]
    neg = rng.choice([r["distractor1"], r["distractor2"], r["distractor3"]])
    return [(f"Question: {q}\nAnswer: {a}", 1, q.strip()), (f"Question: {q}\nAnswer: {neg}", 0, q.strip())]


def _util_fmt(r: dict, rng: random.Random):
    a, b = r["baseline"], r["less_pleasant"]
    if rng.random() < 0.5:
        return [(f"Scenario A: {a}\nScenario B: {b}", 1, None)]
    return [(f"Scenario A: {b}\nScenario B: {a}", 0, None)]


def _ethics_fmt(task: str):
    def fmt(r: dict, rng: random.Random):
        if task == "ethics_virtue":
            sentence, _, trait = r["scenario"].partition(" [SEP] ")
            return [(f"{sentence}\nTrait: {trait}", r["label"], sentence.strip())]
        if task == "ethics_deontology":
            return [(f"{r['scenario']} {r['excuse']}", r["label"], r["scenario"])]
        return [(r["input"] if task == "ethics_commonsense" else r["scenario"], r["label"], None)]

    return fmt


hub_sst2 = _hub_loader("sst2", "train", "validation",
                       lambda r, _: [(r["sentence"], r["label"], None)] if _labelled(r) else [])
hub_sciq = _hub_loader("sciq", "train", "test", _sciq_fmt)
hub_boolq = _hub_loader("boolq", "train", "validation", lambda r, _: [
    (f"Passage: {r['passage']}\nQuestion: {r['question']}?", r["answer"], None)])
hub_cosmos_qa = _hub_loader("cosmos_qa", "train", "validation", lambda r, _: _mc(  # group as offline:
    r["context"], r["question"], [r[f"answer{k}"] for k in range(4)], r["label"],  # one per question
    f"{r['context']}\n{r['question']}") if _labelled(r) else [])
hub_quail = _hub_loader("quail", "train", "validation", lambda r, _: _mc(
    r["context"], r["question"], list(r["answers"]), int(r["correct_answer_id"]), r["id"]))
hub_mc_taco = _hub_loader("mc_taco", "test", "validation", lambda r, _: [(
    f"{r['sentence']}\nQuestion: {r['question']}\nAnswer: {r['answer']}", r["label"],
    f"{r['sentence']}\n{r['question']}")])
hub_ethics_util = _hub_loader("ethics_utilitarianism", "train", "validation", _util_fmt)
hub_wic = _hub_loader("wic", "train", "validation", lambda r, _: [(
    f"Word: {r['word']}. Sentence 1: {r['sentence1']} Sentence 2: {r['sentence2']}", r["label"], None)]
    if _labelled(r) else [])
hub_tweets = _hub_loader("twitter_sentiment", "train", "test",
                         lambda r, _: [] if r["label"] == 1 else [(r["text"], int(r["label"] == 2), None)])


def hub_ethics(task: str):
    # hendrycks/ethics: validation = the test csv, test = test_hard
    return _hub_loader(task, "train", "validation", _ethics_fmt(task))


# --- registrations ------------------------------------------------------------------------------------


def _add_tweets() -> None:
    register_task(TaskDef(
        name="twitter_sentiment",
        description="TweetEval sentiment (SemEval-17 4A), neutral dropped: positive vs negative; "
                    "pool = test tweets, test = val tweets",
        hub_id="cardiffnlp/tweet_eval", hub_config="sentiment",
        local=_pool_test(read_tweets, "twitter_sentiment/test_text.txt", "twitter_sentiment/val_text.txt"),
        hub=hub_tweets,
        files=("twitter_sentiment/test_text.txt", "twitter_sentiment/test_labels.txt",
               "twitter_sentiment/val_text.txt", "twitter_sentiment/val_labels.txt"),
    ), overwrite=True)


_E = "ethics/"
_add("sst2", "SST-2 movie-review sentence sentiment (1 = positive); pool = GLUE train, test = GLUE dev",
     "stanfordnlp/sst2", None, read_sst2, "sst2/train.tsv", "sst2/dev.tsv", hub_sst2)
_add("sciq", "SciQ question + answer: is it the correct answer? (negatives sampled from other questions' "
     "answers offline, from distractors on the Hub)", "allenai/sciq", None, read_sciq,
     "sciq/sciq_train.jsonl", "sciq/sciq_test.jsonl", hub_sciq)
_add("boolq", "BoolQ yes/no question over a passage (1 = yes); offline: validation split only, one pool",
     "google/boolq", None, read_boolq, "boolq/boolq_validation.json", None, hub_boolq)
_add("cosmos_qa", "Cosmos QA commonsense reading comprehension, 4 answers per question (1 = correct); "
     "offline: valid.csv only, one pool", "allenai/cosmos_qa", None, read_cosmos_qa,
     "cosmos_qa/valid.csv", None, hub_cosmos_qa)
_add("quail", "QuAIL reading comprehension, 4 answers per question (1 = correct); offline: dev XML as "
     "one pool (the challenge set is not used)", "textmachinelab/quail", None, read_quail_xml,
     "quail/quail_1.3_dev.xml", None, hub_quail)
_add("mc_taco", "MC-TACO temporal commonsense: is this candidate answer plausible? pool = test_9442, "
     "test = dev_3783", "CogComp/mc_taco", None, read_mc_taco,
     "mc_taco/test_9442.tsv", "mc_taco/dev_3783.tsv", hub_mc_taco)
_add("ethics_justice", "ETHICS justice: is the justification reasonable? pool = train, test = test",
     "hendrycks/ethics", "justice", read_justice,
     _E + "justice/justice_train.csv", _E + "justice/justice_test.csv", hub_ethics("ethics_justice"))
_add("ethics_deontology", "ETHICS deontology: is the excuse reasonable for the request? "
     "pool = train, test = test", "hendrycks/ethics", "deontology", read_deontology,
     _E + "deontology/deontology_train.csv", _E + "deontology/deontology_test.csv",
     hub_ethics("ethics_deontology"))
_add("ethics_virtue", "ETHICS virtue: does the trait fit the character? (5 traits per sentence) "
     "pool = train, test = test", "hendrycks/ethics", "virtue", read_virtue,
     _E + "virtue/virtue_train.csv", _E + "virtue/virtue_test.csv", hub_ethics("ethics_virtue"))
_add("ethics_utilitarianism", "ETHICS utilitarianism: is scenario A more pleasant than B? (order set by "
     "a seeded coin) pool = train, test = test", "hendrycks/ethics", "utilitarianism", read_util,
     _E + "utilitarianism/util_train.csv", _E + "utilitarianism/util_test.csv", hub_ethics_util)
_add("ethics_commonsense", "ETHICS commonsense morality: is the action clearly wrong? offline: "
     "pool = cm_test, test = cm_test_hard", "hendrycks/ethics", "commonsense", read_commonsense,
     _E + "commonsense/cm_test.csv", _E + "commonsense/cm_test_hard.csv", hub_ethics("ethics_commonsense"))
_add("wic", "WiC word-in-context: same sense in both sentences? (reformatted WiC train, split 5,228/200)",
     "aps/super_glue", "wic", read_wic, "wic/train.jsonl", "wic/test.jsonl", hub_wic)
_add_tweets()
