"""Extractive debate (issue 24): quotes cannot be forged, the protocols move a judge that can use evidence,
the adversarial debater manipulates a fixed judge, and the debate supervisor runs through the pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from w2sg.items import Passage
from w2sg.result import as_result
from w2sg.supervisors.debaters import adversarial, bm25_support, random_scores, ranked, support_from
from w2sg.supervisors.evidence import CON, PRO, Transcript, believed, exchange, liar_wins, sentences
from w2sg.supervisors.judge import JudgeHead, Reading
from w2sg.tasks.schema import Example

from .conftest import facts_records


def facts_rows(n_passages: int, seed: int) -> list[Example]:
    rows = []
    for r in facts_records(n_passages, seed):
        for k, a in enumerate(r["answers"]):
            alts = tuple(x for x in r["answers"] if x != a)
            rows.append(Example(f"{r['id']}/{k}", r["passage_id"], f"{r['question']} {a}", int(k == r["correct"]),
                                passage=Passage(r["context"], r["question"], a, alts), question=r["id"]))
    return rows


_HASH = HashingVectorizer(n_features=256, alternate_sign=False, norm="l2")


def embed(texts: list[str]) -> np.ndarray:
    """A fixed bag-of-words embedding (no model): enough for a judge that relates claims to sentences."""
    return _HASH.transform(texts).toarray()


def readings(rows: list[Example]) -> list[Reading]:
    out = []
    for r in rows:
        sents = sentences(r.passage.context)
        out.append(Reading.of(r.passage, sents, embed([r.passage.claim])[0], embed(sents)))
    return out


def bm25_debater(rows: list[Example]):
    sup = [bm25_support(r.passage, sentences(r.passage.context)) for r in rows]
    return ranked([(s, s) for s in sup], 0.0, 0)


def judge_on(rows, reads, protocol, debater, seed=0):
    ts, speaker = exchange([len(r.sents) for r in reads], protocol, debater, 2, 1, seed)
    x = np.stack([rd.features(t.pro, t.con) for rd, t in zip(reads, ts, strict=True)])
    return x, ts, speaker


# ---- quotes ----------------------------------------------------------------------------------------------------------

def test_sentences_split_after_stops_and_at_line_breaks():
    assert sentences("Ann keeps the key. Bob hides it!  Why?\nA new line") == [
        "Ann keeps the key.", "Bob hides it!", "Why?", "A new line"]
    assert sentences("no stop at all") == ["no stop at all"]
    assert sentences("") == []


def test_a_quote_outside_the_passage_a_text_or_a_repeat_is_refused():
    t = Transcript(3)
    t.quote(PRO, 2)
    with pytest.raises(ValueError, match="not in the passage"):
        t.quote(CON, 3)
    with pytest.raises(ValueError, match="not in the passage"):
        t.quote(CON, -1)
    with pytest.raises(TypeError, match="sentence index"):
        t.quote(CON, "Bob keeps the gold.")
    with pytest.raises(ValueError, match="already quoted"):
        t.quote(CON, 2)
    assert t.as_lists() == [[2], []]


def test_a_debater_cannot_quote_a_sentence_that_is_not_in_the_passage():
    def forger(row, side, t, k):  # claims the passage has a sentence it does not have
        return [t.n_sentences + 1]

    with pytest.raises(ValueError, match="not in the passage"):
        exchange([4, 5], "debate", forger, 2, 1, seed=0)

    def inventor(row, side, t, k):  # quotes a text of its own instead of an index
        return ["The answer is obviously yes."]

    with pytest.raises(TypeError, match="sentence index"):
        exchange([4], "consultancy", inventor, 1, 1, seed=0)


def test_protocols_quote_what_they_say():
    n = [6, 6, 2]
    debater = ranked(random_scores(n, 0), 0.0, 0)
    blind, _ = exchange(n, "blind", debater, 2, 1, 0)
    full, _ = exchange(n, "full", debater, 2, 1, 0)
    cons, side = exchange(n, "consultancy", debater, 2, 1, 0)
    deb, first = exchange(n, "debate", debater, 2, 1, 0)
    assert all(t.pro == [] and t.con == [] for t in blind)
    assert [t.pro for t in full] == [list(range(k)) for k in n] and all(t.con == [] for t in full)
    for t, s in zip(cons, side, strict=True):  # one side only: its two quotes
        assert len(t.pro if s == PRO else t.con) == min(2, t.n_sentences) and not (t.con if s == PRO else t.pro)
    for t in deb[:2]:  # two turns each, no sentence twice
        assert len(t.pro) == len(t.con) == 2 and not set(t.pro) & set(t.con)
    assert len(deb[2].pro) + len(deb[2].con) == 2  # a 2-sentence passage runs out of sentences
    assert set(first) <= {PRO, CON}


def test_liar_wins_counts_the_side_that_argued_against_ground_truth():
    p = np.array([0.9, 0.9, 0.1, 0.1])
    y = np.array([1, 0, 1, 0])
    np.testing.assert_array_equal(liar_wins(p > 0.5, y, "debate", np.array([PRO] * 4)), [0, 1, 1, 0])
    # consultancy: only rows whose consultant lied count (pro lies when y = 0, con lies when y = 1)
    won = liar_wins(p > 0.5, y, "consultancy", np.array([PRO, PRO, CON, CON]))
    assert np.isnan(won[0]) and won[1] == 1 and won[2] == 1 and np.isnan(won[3])
    assert liar_wins(p > 0.5, y, "full", np.zeros(4)) is None


def test_a_multiple_choice_judge_accepts_the_top_candidate_of_each_question():
    p = np.array([0.2, 0.3, 0.1, 0.4, 0.45, 0.45])
    q = ["a", "a", "a", "b", "b", "c"]
    np.testing.assert_array_equal(believed(p, q), [False, True, False, False, True, True])
    np.testing.assert_array_equal(believed(p), [False] * 6)


def test_support_is_own_answer_over_the_best_other():
    np.testing.assert_allclose(support_from(np.array([3.0, 1.0]), [np.array([1.0, 2.0]), np.array([0.0, 4.0])]),
                               [2.0, -3.0])
    np.testing.assert_allclose(support_from(np.array([3.0, 1.0]), []), [1.0, -1.0])


# ---- the constructed case: protocols move a judge that can use evidence ----------------------------------------------

@pytest.fixture(scope="module")
def facts():
    train, test = facts_rows(150, seed=1), facts_rows(80, seed=2)
    return train, readings(train), test, readings(test)


def _acc(head, x, rows):
    return float(((head.predict(x) > 0.5) == np.array([r.label for r in rows])).mean())


def test_blind_trails_consultancy_and_debate_which_trail_full_on_the_constructed_case(facts):
    """Prediction stated before the study: the answer and the wrong candidate both occur in the passage, only the
    sentence that names the question's person decides; a judge with no evidence is at chance, with the whole
    passage near perfect, and debate (both sides' best quotes) close to full."""
    train, rtrain, test, rtest = facts
    accs = {}
    for protocol in ("blind", "consultancy", "debate", "full"):
        x, _, _ = judge_on(train, rtrain, protocol, bm25_debater(train))
        head = JudgeHead().fit(x, np.array([r.label for r in train]), None, 0)
        xt, _, _ = judge_on(test, rtest, protocol, bm25_debater(test))
        accs[protocol] = _acc(head, xt, test)
    assert 0.35 < accs["blind"] < 0.65, accs
    assert accs["full"] > 0.9 and accs["debate"] > 0.85, accs
    assert accs["blind"] + 0.15 < accs["consultancy"] < accs["debate"] + 0.02, accs


def test_adversarial_consultant_wins_more_often_than_a_random_one_against_a_fixed_judge(facts):
    train, rtrain, test, rtest = facts
    n_train = [len(r.sents) for r in rtrain]
    x, _, _ = judge_on(train, rtrain, "consultancy", ranked(random_scores(n_train, 0), 0.0, 0))
    judge = JudgeHead().fit(x, np.array([r.label for r in train]), None, 0)  # fixed from here on
    y = np.array([r.label for r in test])
    n_test = [len(r.sents) for r in rtest]
    rates = {}
    for name, debater in (("random", ranked(random_scores(n_test, 5), 0.0, 5)),
                          ("adversarial", adversarial(
                              lambda row, pro, con: float(judge.logit(rtest[row].features(pro, con))[0])))):
        xt, _, speaker = judge_on(test, rtest, "consultancy", debater, seed=3)
        rates[name] = float(np.nanmean(liar_wins(judge.predict(xt) > 0.5, y, "consultancy", speaker)))
    assert rates["adversarial"] > rates["random"] + 0.1, rates


def test_debaters_never_read_labels(facts):
    _, _, test, rtest = facts
    flipped = [Example(r.id, r.group, r.text, 1 - r.label, passage=r.passage, question=r.question) for r in test]
    a, _ = exchange([len(r.sents) for r in rtest], "debate", bm25_debater(test), 2, 1, 0)
    b, _ = exchange([len(r.sents) for r in rtest], "debate", bm25_debater(flipped), 2, 1, 0)
    assert [t.as_lists() for t in a] == [t.as_lists() for t in b]


# ---- the supervisor in the pipeline ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def facts_yaml(tmp_path_factory):
    from .conftest import facts_task

    return facts_task(tmp_path_factory.mktemp("facts"), n_passages=50, seed=0)


def _debate_spec(task, encoder, method="naive", **weak):
    from w2sg.config import ExperimentSpec

    from .conftest import tiny_spec

    spec = tiny_spec(task, encoder, encoder, method=method).model_dump()
    spec["weak"] = {"kind": "debate", "judge": str(encoder), "policy": "bm25", "protocol": "debate", **weak}
    spec["splits"] |= {"n_weak_train": 60, "n_transfer": 60, "n_val": 20, "n_test": 60}
    return ExperimentSpec.model_validate(spec)


def test_the_debate_supervisor_runs_in_the_pipeline_and_records_its_protocols(facts_yaml, tiny_encoder, tmp_path):
    from w2sg.pipeline import Pipeline

    pipe = Pipeline(tmp_path / "wd")
    rec = pipe.run(_debate_spec(facts_yaml, tiny_encoder, members=2))
    res = as_result(rec)
    assert res.status in (None, "ok") and res.supervisor_kind == "debate"
    d = res.debate
    assert d.protocol == "debate" and d.policy == "bm25" and d.members == 2
    assert set(d.judge_acc) == {"blind", "consultancy", "debate", "full"}
    assert set(d.liar_win) == {"consultancy", "debate"}
    lo, hi = d.judge_acc["full"][1:]
    assert lo <= d.judge_acc["full"][0] <= hi
    # the constructed passages let the bag-of-words judge features carry the answer even from a random tiny
    # encoder: reading every sentence beats reading none
    assert d.judge_acc["full"][0] > d.judge_acc["blind"][0] + 0.1, d.judge_acc
    # two candidates per question: the judge is also scored per question, and the liar by the question's argmax
    assert d.verdict == "question argmax" and set(d.judge_q_acc) == set(d.judge_acc)
    assert set(d.labels_acc) == {"transfer", "test"}  # the labels on B and T (the ensemble of both judges)
    assert d.labels_acc["test"][0] == pytest.approx(res.score("supervisor"))
    assert d.judge_q_acc["full"][0] > d.judge_q_acc["blind"][0] + 0.1, d.judge_q_acc
    assert res.score("supervisor") is not None and res.score("supervisor") > res.score("weak")
    # the liar wins exactly where the debate judge errs (one side always lies)
    assert d.liar_win["debate"][0] == pytest.approx(1 - d.judge_q_acc["debate"][0], abs=0.15)
    other = _debate_spec(facts_yaml, tiny_encoder, method="naive_hard", members=2)
    again = as_result(Pipeline(tmp_path / "wd").run(other))  # another student from the same debate
    assert again.run.cached.get("weak") and again.debate.judge_acc == d.judge_acc


def test_the_debate_key_follows_protocol_policy_and_members(facts_yaml, tiny_encoder, tmp_path):
    from w2sg.pipeline import Pipeline
    from w2sg.pipeline.steps import supervise_key

    pipe = Pipeline(tmp_path / "wd")
    keys = {supervise_key(_debate_spec(facts_yaml, tiny_encoder, **kw), pipe.res)
            for kw in ({}, {"protocol": "full"}, {"policy": "random"}, {"members": 3})}
    assert len(keys) == 4


def test_a_task_without_passages_is_refused_with_the_fix(tiny_encoder, synthetic_task, tmp_path):
    from w2sg.pipeline import Pipeline

    with pytest.raises(ValueError, match="declares `context:`"):
        Pipeline(tmp_path / "wd").run(_debate_spec(synthetic_task, tiny_encoder))


def test_the_lm_debater_reads_a_decoders_verdicts_through_the_zero_shot_cache(facts_yaml, tiny_encoder, tiny_lm,
                                                                               tmp_path):
    from w2sg.pipeline import Pipeline

    spec = _debate_spec(facts_yaml, tiny_encoder, policy="lm", debater=str(tiny_lm), protocol="consultancy")
    pipe = Pipeline(tmp_path / "wd")
    res = as_result(pipe.run(spec))
    assert res.debate.policy == "lm" and res.debate.debater == str(tiny_lm)
    assert set(res.debate.judge_acc) == {"blind", "consultancy", "debate", "full"}
    assert any((tmp_path / "wd").rglob("*")) and res.score("supervisor") is not None


def test_protocol_and_members_are_grid_axes_of_a_sweep():
    from w2sg.sweep import SweepSpec, expand

    sw = SweepSpec.model_validate({
        "name": "axes", "tasks": ["quail"], "weak": [{"kind": "debate", "judge": "minilm"}], "strong": ["mpnet"],
        "methods": ["naive"], "seeds": [0], "grid": {"weak.protocol": ["blind", "full"], "weak.members": [1, 4]}})
    cells = {(s.weak.options["protocol"], s.weak.options["members"]) for s in expand(sw)}
    assert cells == {("blind", 1), ("blind", 4), ("full", 1), ("full", 4)}
    with pytest.raises(ValueError, match="protocol"):
        expand(sw.model_copy(update={"grid": {"weak.protocol": ["shouting"]}}))


def test_the_adversarial_policy_records_its_wins_against_the_fixed_target_judge(facts_yaml, tiny_encoder, tmp_path):
    from w2sg.pipeline import Pipeline

    res = as_result(Pipeline(tmp_path / "wd").run(_debate_spec(facts_yaml, tiny_encoder, policy="adversarial",
                                                               protocol="consultancy")))
    fixed = res.debate.liar_win_fixed
    # that the adversary beats random against its target is tested above on 160 rows; on these 60 test rows and a
    # random tiny encoder the two are within noise (with MiniLM and 240 rows: consultancy 0.68 vs 0.44)
    assert set(fixed) == {"consultancy", "debate"}
    for protocol in fixed:
        for policy in ("random", "adversarial"):
            rate, lo, hi = fixed[protocol][policy]
            assert 0 <= lo <= rate <= hi <= 1


def test_the_embed_debater_reads_its_models_features_in_one_pass(facts_yaml, tiny_encoder, tmp_path):
    from w2sg.pipeline import Pipeline

    pipe = Pipeline(tmp_path / "wd")
    calls = []
    orig = pipe.res.item_features

    def counting(model, spec, items):
        calls.append(len(items))
        return orig(model, spec, items)

    pipe.res.item_features = counting
    res = as_result(pipe.run(_debate_spec(facts_yaml, tiny_encoder, policy="embed", debater=str(tiny_encoder))))
    assert res.debate.policy == "embed" and set(res.debate.judge_acc) == {"blind", "consultancy", "debate", "full"}
    assert len(calls) < 10, calls  # judge texts and debater texts once each, not one call per row
