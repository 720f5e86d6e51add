"""The `debate` supervisor: weak judges label the transfer set after reading strong debaters' quotes.

Lang, Huang & Li (AAAI 2025) let two copies of the strong model debate, train weak judges on ground truth with the
transcript appended and use an ensemble of judges (transcripts of different debate seeds) as the supervisor. On
CPU the debate is extractive (`supervisors/evidence.py`): debaters quote sentences of the passage by index
(`supervisors/debaters.py`), the judge reads the claim's relations to the quotes (`supervisors/judge.py`).

The PGR floor stays the plain weak model (the judge's model trained on A's row texts, the same fit as `weak:
<judge>`), Lang et al.'s convention; the debate ensemble's own test predictions are recorded as supervisor_*
(like a chain's last rung). Each record also says, for the first member's debate seed, the judge's accuracy on T
under every protocol and the liar's win rate under consultancy and debate, with cluster-bootstrap CIs
(`debate` in the record, `ExperimentResult.debate`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import numpy as np
from pydantic import Field

from w2sg.config import content_hash
from w2sg.metrics.resample import mean_ci, paired_bootstrap, percentile_ci
from w2sg.metrics.scores import accuracy, per_question_correct, question_coverage, question_first_rows
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig, no_record
from w2sg.supervisors.debaters import (
    LM_TEMPLATE,
    POLICIES,
    adversarial,
    bm25_support,
    embed_support,
    lm_support,
    random_scores,
    ranked,
)
from w2sg.supervisors.evidence import PROTOCOLS, believed, exchange, liar_wins, sentences
from w2sg.supervisors.judge import JudgeHead, Reading, unit
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.registry import register_supervisor
from w2sg.tasks.schema import Example

N_BOOT = 1000


class DebateConfig(SupervisorConfig):
    judge: str = Field(description="the weak judge's model (alias or path; frozen features), trained on A")
    debater: str | None = Field(None, description="the debaters' model: features for policy embed, a decoder "
                                "for policy lm (default: the judge's model)")
    policy: Literal[POLICIES] = Field("embed", description="how debaters choose sentences: "  # type: ignore[valid-type]
                                      + ", ".join(POLICIES))
    protocol: Literal[PROTOCOLS] = Field("debate", description="what the judge reads: "  # type: ignore[valid-type]
                                         + ", ".join(PROTOCOLS))
    turns: int = Field(2, ge=1, le=8, description="turns per side")
    quotes: int = Field(1, ge=1, le=8, description="sentences quoted per turn")
    members: int = Field(1, ge=1, le=16, description="judges, each trained and applied on the transcripts of its "
                         "own debate seed; the supervisor's P is their mean")
    temperature: float = Field(0.5, ge=0, le=10, description="Gumbel noise on the debaters' standardised scores "
                               "(0: greedy); makes the members' debates differ")

    @property
    def debater_model(self) -> str:
        return self.debater or self.judge


def _models(cfg: DebateConfig, spec) -> list[str]:
    return list(dict.fromkeys([cfg.judge, *([cfg.debater_model] if cfg.policy == "embed" else [])]))


def _passages_hash(ctx: SupervisionContext) -> str:
    return content_hash("passages", [[r.id, r.passage] for _, rows in ctx.splits.items() for r in rows])


VERSION = 4  # bump when what a debate supervision records changes (v2: per-question judge scores; v3: labels_acc;
# v4: the adversary against its fixed target judge)


def _key(cfg: DebateConfig, ctx: SupervisionContext) -> str:
    return content_hash("debate", VERSION, weak_fit_key(ctx, cfg.judge), _passages_hash(ctx), cfg,
                        ctx.identity(cfg.judge), ctx.identity(cfg.debater_model), ctx.train, ctx.seed,
                        *((LM_TEMPLATE,) if cfg.policy == "lm" else ()))


def _check_passages(rows: list[Example], task: str) -> None:
    missing = sum(r.passage is None for r in rows)
    if missing:
        raise ValueError(f"task '{task}': {missing} of {len(rows)} rows have no passage; the debate supervisor "
                         "needs a reading task whose YAML declares `context:` (e.g. quail, boolq, cosmos_qa)")


class Evidence:
    """Every row's sentences, the judge's reading of it and the policy's support scores, computed once."""

    def __init__(self, cfg: DebateConfig, ctx: SupervisionContext, splits: dict[str, list[Example]]):
        self.cfg, self.ctx, self.splits = cfg, ctx, splits
        self.passages = _passages_hash(ctx)
        rows = [r for rs in splits.values() for r in rs]
        self.sents = {c: sentences(c) for c in dict.fromkeys(r.passage.context for r in rows)}
        texts = list(dict.fromkeys([s for ss in self.sents.values() for s in ss] + [r.passage.claim for r in rows]))
        vec = dict(zip(texts, unit(ctx.features(cfg.judge, texts)), strict=True))
        self.readings = {name: [Reading.of(r.passage, self.sents[r.passage.context], vec[r.passage.claim],
                                           np.array([vec[s] for s in self.sents[r.passage.context]]))
                                for r in rs] for name, rs in splits.items()}
        self._support_cache: dict[str, list[np.ndarray]] = {}

    def support(self, name: str) -> list[np.ndarray]:
        """The policy's support scores of split `name`'s rows (computed on first use: blind and full need none)."""
        if name not in self._support_cache:
            self._support_cache[name] = [self._support(r) for r in self.splits[name]]
        return self._support_cache[name]

    def n_sentences(self, name: str) -> list[int]:
        return [len(self.sents[r.passage.context]) for r in self.splits[name]]

    def _support(self, row: Example) -> np.ndarray:
        p, sents = row.passage, self.sents[row.passage.context]
        if self.cfg.policy == "bm25":
            return bm25_support(p, sents)
        if self.cfg.policy == "embed":
            vec = self._debater_vectors()
            return embed_support(p, np.array([vec[x] for x in sents]), lambda t: np.array([vec[x] for x in t]))
        return lm_support(p, sents, self._log_odds)

    def _debater_vectors(self) -> dict[str, np.ndarray]:
        """Unit-norm debater features of every sentence and every question + candidate, read from the feature
        cache in one call (not one call per row)."""
        if not hasattr(self, "_dvec"):
            rows = [r for rs in self.splits.values() for r in rs]
            texts = list(dict.fromkeys([s for ss in self.sents.values() for s in ss] + [
                f"{r.passage.question}\n{a}" for r in rows for a in (r.passage.answer, *r.passage.alternatives)]))
            feats = np.asarray(self.ctx.features(self.cfg.debater_model, texts)).reshape(len(texts), -1)
            self._dvec = dict(zip(texts, unit(feats), strict=True))
        return self._dvec

    def _log_odds(self, texts: list[str]) -> np.ndarray:
        if self.ctx.zero_shot is None:
            raise ValueError("policy lm needs the pipeline's zero-shot scorer (run the supervisor in a pipeline)")
        return self.ctx.zero_shot(self.cfg.debater_model).scores(texts, LM_TEMPLATE)[:, 0]


def _transcripts(ev: Evidence, name: str, protocol: str, policy: str, seed: int, target: JudgeHead | None):
    cfg = ev.cfg
    n = ev.n_sentences(name)
    if protocol in ("blind", "full"):  # nobody chooses quotes
        return exchange(n, protocol, None, cfg.turns, cfg.quotes, seed)
    if policy == "adversarial":
        reading = ev.readings[name]
        debater = adversarial(lambda row, pro, con: float(target.logit(reading[row].features(pro, con))[0]))
    elif policy == "random":
        debater = ranked(random_scores(n, seed), 0.0, seed)
    else:
        debater = ranked([(s, s) for s in ev.support(name)], cfg.temperature, seed)
    return exchange(n, protocol, debater, cfg.turns, cfg.quotes, seed)


def _features(ev: Evidence, name: str, transcripts) -> np.ndarray:
    return np.stack([r.features(t.pro, t.con) for r, t in zip(ev.readings[name], transcripts, strict=True)])


_MEMO: OrderedDict[str, tuple] = OrderedDict()  # judges of this process, by what they depend on (see _judge)
_MEMO_SIZE = 32


def _judge(ev: Evidence, protocol: str, policy: str, seed: int) -> tuple[dict, dict, dict, JudgeHead]:
    """`_fit_judge`, remembered in this process: a blind or full judge does not depend on the policy, and the
    adversary's target is the random policy's judge, so the cells of one sweep share them (same numbers)."""
    cfg, ctx = ev.cfg, ev.ctx
    debates = protocol in ("consultancy", "debate")
    key = content_hash("debate-judge", ctx.split_key, ev.passages, ctx.identity(cfg.judge), ctx.train, protocol,
                       seed, *((policy, cfg.turns, cfg.quotes) if debates else ()),
                       *((ctx.identity(cfg.debater_model),) if debates and policy in ("embed", "lm") else ()),
                       *((cfg.temperature,) if debates and policy in ("bm25", "embed", "lm") else ()))
    if key not in _MEMO:
        _MEMO[key] = _fit_judge(ev, protocol, policy, seed)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    _MEMO.move_to_end(key)
    return _MEMO[key]


def _fit_judge(ev: Evidence, protocol: str, policy: str, seed: int) -> tuple[dict, dict, dict, JudgeHead]:
    """One judge under (protocol, policy, debate seed): trained on A's transcripts with ground truth, applied to
    every other split. Returns (P per split, transcripts per split, speaker per split, the head)."""
    target = _judge(ev, protocol, "random", seed)[3] \
        if policy == "adversarial" and protocol in ("consultancy", "debate") else None
    out, trans, speakers = {}, {}, {}
    for name in ev.splits:
        trans[name], speakers[name] = _transcripts(ev, name, protocol, policy, seed, target)
    a = ev.splits["weak_train"]
    groups = np.unique([r.group for r in a], return_inverse=True)[1]
    head = JudgeHead().fit(_features(ev, "weak_train", trans["weak_train"]), np.array([r.label for r in a]),
                           groups, seed)
    for name in ev.splits:
        if name != "weak_train":
            out[name] = head.predict(_features(ev, name, trans[name])) if ev.splits[name] else np.zeros(0, np.float32)
    return out, trans, speakers, head


def _diagnostics(ev: Evidence, cfg: DebateConfig, seed: int, first: tuple, balanced: bool) -> dict:
    """On T, per protocol: the judge's (class-balanced) accuracy and, on a multiple-choice task, its per-question
    accuracy (argmax over a question's candidates); under consultancy and debate the liar's win rate, the judge
    accepting a candidate when P > 0.5 or, on a multiple-choice task, when it is the question's argmax. Each with a
    95% CI that resamples whole groups (passages)."""
    t = ev.splits["test"]
    y, groups = np.array([r.label for r in t]), [r.group for r in t]
    questions = [r.question_key for r in t]
    n_q, coverage = question_coverage(y, questions)
    mc = bool(n_q) and coverage >= 0.5
    q_groups = [groups[i] for i in question_first_rows(y, questions)] if mc else []  # per_question_correct's order
    acc, q_acc, liar = {}, {}, {}
    for protocol in PROTOCOLS:
        p, _, speakers, _ = first if protocol == cfg.protocol else _judge(ev, protocol, cfg.policy, seed)
        pt = p["test"]
        boot = paired_bootstrap(y, [pt], N_BOOT, 0, ("accuracy",), balanced, groups)["accuracy"][0]
        acc[protocol] = [accuracy(pt, y, balanced), *percentile_ci(boot)]
        if mc:
            correct = per_question_correct(pt, y, questions).astype(float)
            q_acc[protocol] = list(mean_ci(correct, q_groups, N_BOOT, 0))[:3]
        won = liar_wins(believed(pt, questions if mc else None), y, protocol, speakers["test"])
        if won is not None:
            liar[protocol] = list(mean_ci(won, groups, N_BOOT, 0))
    out = {"judge_acc": acc, "judge_q_acc": q_acc or None, "liar_win": liar,
           "verdict": "question argmax" if mc else "P > 0.5"}
    if cfg.policy == "adversarial":  # manipulability: the adversary's target judge, held fixed
        out["liar_win_fixed"] = {}
        for protocol in ("consultancy", "debate"):
            _, rand_trans, rand_speakers, target = _judge(ev, protocol, "random", seed)
            _, adv_trans, adv_speakers, _ = _judge(ev, protocol, "adversarial", seed)
            out["liar_win_fixed"][protocol] = {
                policy: list(mean_ci(liar_wins(believed(target.predict(_features(ev, "test", trans["test"])),
                                                        questions if mc else None), y, protocol, spk["test"]),
                                     groups, N_BOOT, 0))
                for policy, trans, spk in (("random", rand_trans, rand_speakers), ("adversarial", adv_trans,
                                                                                   adv_speakers))}
    return out


def _label_acc(p: np.ndarray, rows: list[Example], balanced: bool) -> list:
    """The debate supervisor's labels scored against the split's ground truth (recorded, never given to the
    student): [accuracy, per-question accuracy or None]."""
    y = np.array([r.label for r in rows])
    questions = [r.question_key for r in rows]
    n_q, coverage = question_coverage(y, questions)
    q = float(per_question_correct(p, y, questions).mean()) if n_q and coverage >= 0.5 else None
    return [accuracy(p, y, balanced), q]


@register_supervisor("debate", """
Debate-assisted supervision (Lang, Huang & Li, AAAI 2025), extractive: two debaters quote sentences of the
row's passage by index (one argues the candidate answer is right, the other that it is wrong; sides at random),
a weak judge trained on A's ground truth under the same protocol reads the question, the candidate and the
quotes; `members` judges on transcripts of different debate seeds are averaged into the weak labels. The PGR
floor is the plain weak model (the judge's model on the row texts); the ensemble's test scores are supervisor_*.
Protocols: blind, consultancy, debate, full. Policies: random, bm25, embed, lm (a decoder's verdict per
sentence), adversarial (against a judge trained on random debates). Needs a task with passages (`context:`).
Options: judge, debater, policy, protocol, turns, quotes, members, temperature.""", DebateConfig, key=_key,
                     models=_models,
                     reads=lambda cfg, spec: [cfg.debater_model] if cfg.policy == "lm" else [],
                     record=lambda cfg, meta: no_record() | {"debate": meta.get("debate")})
def debate(cfg: DebateConfig, ctx: SupervisionContext) -> Supervision:
    s = ctx.splits
    splits = {"weak_train": s.weak_train, "transfer": s.transfer, "val": s.val, "test": s.test, "extra": s.extra}
    _check_passages([r for rows in splits.values() for r in rows], ctx.spec.task)
    ev = Evidence(cfg, ctx, splits)
    members = [_judge(ev, cfg.protocol, cfg.policy, ctx.seed * 1000 + m) for m in range(cfg.members)]
    mean = {role: np.mean([m[0][role] for m in members], axis=0) for role in ROLES if role in members[0][0]}
    base, meta = ctx.fit(cfg.judge, s.weak_train, ctx.seed, weak_fit_key(ctx, cfg.judge))
    balanced = bool(getattr(ctx.spec, "balance_test", True))
    info = {"protocol": cfg.protocol, "policy": cfg.policy, "members": cfg.members, "judge": cfg.judge,
            "debater": cfg.debater_model, "quotes_per_side": cfg.turns * cfg.quotes,
            "sentences_mean": float(np.mean(ev.n_sentences("test"))) if s.test else None,
            **_diagnostics(ev, cfg, ctx.seed * 1000, members[0], balanced),
            "labels_acc": {role: _label_acc(mean[role], rows, balanced) for role, rows in
                           (("transfer", s.transfer), ("test", s.test)) if len(rows)}}
    transcripts = {role: [t.as_lists() for t in members[0][1][role]] for role in ("transfer", "val", "test")}
    p = {**mean, "test": base["test"], "labeller_test": mean["test"]}
    return Supervision(p, {**meta, "model": cfg.judge, "debate": info, "transcripts": transcripts})
