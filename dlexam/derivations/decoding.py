"""Decoding a small tree of next-token probabilities: greedy and beam search; and the
probability of one path.

The tree is JSON: each token maps to ``[probability, {children}]``, the probability of that token
given the path above it; ``<eos>`` ends a sequence, and so does a token with no children (the
tree's end). Conventions:

- beam search keeps, at each step, the ``beam_width`` best one-token extensions of the
  hypotheses in the beam, ranked by log-probability; a kept extension that has ended leaves the
  beam and is a finished hypothesis (so it used one of the step's places). The search stops when
  the beam is empty; the finished hypotheses are ranked by their score, best first. Greedy
  search is the same with one place.
- the score is the log-probability log P(y) = sum_t log p(y_t | y_<t) (natural log), or with a
  ``length_penalty`` alpha, log P(y) / L^alpha with L the number of tokens, <eos> included
  (Hugging Face's ``length_penalty``; D2L's 1 / L^alpha). The penalty ranks finished
  hypotheses; pruning within a step compares log-probabilities (extensions of one length).
- ties keep the tree's order (JSON objects keep the order they are written in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, row_of, terms_of
from dlexam.derivations.distributions import Log
from dlexam.derivations.forms import Ratio, as_written
from dlexam.derivations.params import Param, exact, json_kind
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub
from dlexam.notation.display import Series, plain_number

register_symbols({
    "dec_P": ("P", "P"),
    "dec_logP": (r"\log P", "log P"),
    "dec_p": ("p", "p"),
    "dec_S": ("S", "S"),
    "dec_L": ("L", "L"),
    "dec_alpha": (r"\alpha", "α"),
})

EOS = "<eos>"


@dataclass(frozen=True)
class Node:
    """A token of the tree: its probability given the path above it, and its children."""

    token: str
    p: sp.Rational
    children: tuple[Node, ...]


def read_tree(name: str, value: Any, limits: Mapping[str, int]) -> tuple[Node, ...]:
    """The tree's first tokens, checked: probabilities in (0, 1] summing to at most 1 among
    siblings, tokens of one word, <eos> without children, within the limits on ``depth``
    (tokens along a path), ``nodes`` and ``branching`` (children of one token)."""
    count = [0]

    def nodes(table: Any, path: str, depth: int) -> tuple[Node, ...]:
        def at(what: Any) -> Any:  # what was given, and where in the tree
            return Said("decoding.errors.under", what=what, path=path) if path else what

        if not isinstance(table, Mapping):
            raise InputError(name, Said("decoding.errors.tree", example='{"a": [0.6, {"<eos>": '
                                        '[1, {}]}], "b": [0.4, {}]}'), at(json_kind(table)))
        if depth > limits.get("depth", 8):
            raise InputError(name, Said("decoding.errors.depth", n=limits.get("depth", 8)),
                             at(Said("decoding.errors.longer")))
        if len(table) > limits.get("branching", 8):
            raise InputError(name, Said("decoding.errors.branching",
                                        n=limits.get("branching", 8)),
                             at(Said("decoding.errors.tokens", n=len(table))))
        out = []
        total = sp.Integer(0)
        for token, entry in table.items():
            count[0] += 1
            if count[0] > limits.get("nodes", 64):
                raise InputError(name, Said("decoding.errors.nodes", n=limits.get("nodes", 64)),
                                 Said("errors.more"))
            if not token or len(token.split()) != 1 or token != token.strip() or "|" in token:
                raise InputError(name, Said("decoding.errors.one_word"), at(repr(token)))
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise InputError(name, Said("decoding.errors.entry"), at(token))
            try:
                p = exact(entry[0])
            except TypeError:
                raise InputError(name, Said("decoding.errors.numbers"),
                                 at(f"{token}: {entry[0]!r}")) from None
            if not 0 < p <= 1:
                raise InputError(name, Said("inputs.probabilities"),
                                 at(f"{token}: {plain_number(p, 'echo')}"))
            total += p
            here = f"{path} {token}".strip()
            children = nodes(entry[1], here, depth + 1)
            if token == EOS and children:
                raise InputError(name, Said("decoding.errors.eos", eos=EOS),
                                 at(Said("decoding.errors.children")))
            out.append(Node(token, p, children))
        if total > 1:
            raise InputError(name, Said("decoding.errors.siblings"),
                             at(plain_number(total, "echo")))
        return tuple(out)

    tree = nodes(value, "", 1)
    if not tree:
        raise InputError(name, Said("decoding.errors.a_token"), Said("inputs.empty_object"))
    return tree


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[str, ...]
    probs: tuple[sp.Rational, ...]
    node: Node | None

    @property
    def probability(self) -> sp.Rational:
        return sp.Mul(*self.probs)

    @property
    def ended(self) -> bool:
        return self.node is not None and (self.node.token == EOS or not self.node.children)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def search(tree: tuple[Node, ...], width: int, per_parent: bool = False,
           skip_eos: bool = False) -> tuple[list[tuple[Hypothesis, ...]],
                                              list[list[Hypothesis]], list[Hypothesis]]:
    """Beam search (greedy with width 1). Returns per step its candidates (every extension)
    and its kept ones, and the finished hypotheses in the order they finished.

    ``per_parent`` (a mistake): after the first step each hypothesis keeps only its own best
    extension. ``skip_eos`` (a mistake): <eos> is taken with probability 1."""
    beam = [Hypothesis((), (), None)]
    rounds: list[tuple[Hypothesis, ...]] = []
    kept_rounds: list[list[Hypothesis]] = []
    finished: list[Hypothesis] = []
    while beam:
        candidates = []
        groups = []
        for hyp in beam:
            children = tree if hyp.node is None else hyp.node.children
            group = [Hypothesis((*hyp.tokens, c.token),
                                (*hyp.probs, sp.Integer(1) if skip_eos and c.token == EOS
                                 else c.p), c) for c in children]
            candidates += group
            groups.append(group)
        if per_parent and rounds:
            kept = [max(g, key=lambda h: h.probability) for g in groups if g]
        else:
            ranked = sorted(range(len(candidates)), key=lambda i: -candidates[i].probability)
            kept = [candidates[i] for i in sorted(ranked[:width])]
            kept.sort(key=lambda h: -h.probability)
        rounds.append(tuple(candidates))
        kept_rounds.append(kept)
        beam = []
        for hyp in kept:
            (finished if hyp.ended else beam).append(hyp)
    return rounds, kept_rounds, finished


def _score(hyp: Hypothesis, alpha: sp.Basic | None) -> sp.Basic:
    log_p = sp.log(hyp.probability)
    return log_p if alpha is None else log_p / sp.Integer(len(hyp.tokens)) ** alpha


def _ranked(finished: Sequence[Hypothesis], alpha: sp.Basic | None) -> list[Hypothesis]:
    keys = [float(_score(h, alpha).evalf(30)) for h in finished]
    order = sorted(range(len(finished)), key=lambda i: -keys[i])
    return [finished[i] for i in order]


def _alpha(params: Mapping[str, Any]) -> sp.Basic | None:
    value = params.get("length_penalty", "none")
    return None if value in (None, "none") else exact(value)


def _outcome(params: Mapping[str, Any], mistake: str | None = None) -> list[str]:
    """The ranked finished hypotheses as texts, for raw parameters (what a mistake changes)."""
    tree = read_tree("tree", params["tree"], DECODING_LIMITS)
    width = 1 if params["method"] == "greedy" else int(params["beam_width"])
    if mistake == "greedy-as-optimal":
        width = 1
    alpha = None if mistake == "length-penalty-ignored" else _alpha(params)
    _r, _k, finished = search(tree, width, per_parent=mistake == "beam-as-greedy-paths")
    return [h.text for h in _ranked(finished, alpha)]


def _beam_differs(mistake: str) -> Any:
    def applies(params: Mapping[str, Any]) -> bool:
        if params["method"] != "beam" or int(params["beam_width"]) < 2:
            return False
        if mistake == "length-penalty-ignored" and _alpha(params) is None:
            return False
        try:
            return _outcome(params) != _outcome(params, mistake)
        except InputError:
            return False
    return applies


def _has_eos(params: Mapping[str, Any]) -> bool:
    def walk(table: Any) -> bool:
        return isinstance(table, Mapping) and any(
            (t == EOS and float(e[0]) < 1) or walk(e[1]) for t, e in table.items()
            if isinstance(e, (list, tuple)) and len(e) == 2)
    return walk(params["tree"])


DECODING_LIMITS = {"depth": 6, "nodes": 64, "branching": 6}

DECODING_PARAMS = [
    Param("tree", "json", reader=read_tree, max_length=16,
          expects="decoding.expects.tree"),
    Param("method", "choice", default="beam", choices=("greedy", "beam")),
    Param("beam_width", "int", default=2, minimum=1, maximum=8),
    Param("length_penalty", "choice_or_number", default="none", choices=("none",)),
]

_CHANGES = ("sequences", "log_probs", "probabilities", "best", "scores")

DECODING_MISTAKES = [
    Mistake("greedy-as-optimal", changes=_CHANGES, formula=True,
            applies=_beam_differs("greedy-as-optimal")),
    Mistake("beam-as-greedy-paths", changes=_CHANGES, formula=True,
            applies=_beam_differs("beam-as-greedy-paths")),
    Mistake("eos-probability-ignored", changes=_CHANGES, formula=True, applies=_has_eos),
    Mistake("length-penalty-ignored", changes=_CHANGES, formula=True,
            applies=_beam_differs("length-penalty-ignored")),
]

_WORDS = ("I", "you", "we", "like", "see", "cats", "dogs", "tea", "it", "a", "the", "run")


def _draw_tree(draw: Draw, depth: int) -> dict[str, Any]:
    """Two or three tokens with one-decimal probabilities; below the top, <eos> among them;
    three tokens down, every sequence ends with <eos>."""
    k = draw.integer(2, 3)
    probs = draw.distribution(k, 1, floor=0.1)
    words: list[str] = []
    while len(words) < k:
        w = draw.choice(_WORDS)
        if w not in words:
            words.append(w)
    if depth > 1:
        words[draw.integer(0, k - 1)] = EOS
    out: dict[str, Any] = {}
    for w, p in zip(words, probs, strict=True):
        out[w] = [p, {} if w == EOS else {EOS: [1, {}]} if depth >= 3
                  else _draw_tree(draw, depth + 1)]
    return out


def sample_decoding(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A tree three tokens deep, two or three tokens per branch with <eos> below the top,
    where greedy search and a beam of two or three part ways; now and then a length penalty."""
    out: dict[str, Any] = {}
    for _ in range(100):
        out = {"method": draw.choice(("beam", "beam", "greedy")),
               "beam_width": draw.integer(2, 3), "tree": _draw_tree(draw, 1)}
        if draw.chance(0.3):
            out["length_penalty"] = draw.choice((0.6, 1))
        out.update(fixed)
        if out["method"] == "greedy" or _beam_differs("greedy-as-optimal")(
                {"length_penalty": "none", **out}):
            break
    return out


def _paths(tree: tuple[Node, ...]) -> list[tuple[str, str, Any]]:
    """The tree as data: (token, the path before it, p) for every token, in order (written
    p(token | path) = p, a Series of kind "conditionals")."""
    parts: list[tuple[str, str, Any]] = []

    def walk(nodes: tuple[Node, ...], path: str) -> None:
        for n in nodes:
            parts.append((n.token, path, n.p))
            walk(n.children, f"{path} {n.token}".strip())

    walk(tree, "")
    return parts


def _count(tree: tuple[Node, ...]) -> int:
    return sum(1 + _count(n.children) for n in tree)


def _decoding_question(values: dict[str, Any]) -> dict[str, Any]:
    statement = "greedy" if values["method"] == "greedy" else (
        None if values["length_penalty"] == "none" else "beam_penalty")
    return {"statement": statement, "paths": Series("conditionals", _paths(values["tree"]))}


@derivation(
    "decoding",
    params=DECODING_PARAMS,
    answers=[
        Answer("sequences", "text"),
        Answer("log_probs", "vector", shapes=(("K",),)),
        Answer("probabilities", "vector", shapes=(("K",),)),
        Answer("best", "text"),
        Answer("scores", "vector", shapes=(("K",),), optional=True),
    ],
    limits=DECODING_LIMITS,
    mistakes=DECODING_MISTAKES,
    sampler=sample_decoding,
    question=_decoding_question,
)
def decoding(tree: tuple[Node, ...], method: str, beam_width: int, length_penalty: Any,
             mistake: str | None = None) -> Result:
    """Greedy or beam search over the tree; the finished hypotheses best first.

    Args:
        tree: the first tokens (:func:`read_tree`).
        method: ``greedy`` or ``beam``.
        beam_width: the beam's places (beam search).
        length_penalty: ``none``, or alpha: hypotheses ranked by log P / L^alpha.
        mistake: ``greedy-as-optimal``, ``beam-as-greedy-paths``, ``eos-probability-ignored``
            or ``length-penalty-ignored``.
    """
    width = 1 if method == "greedy" or mistake == "greedy-as-optimal" else beam_width
    alpha = None if length_penalty == "none" or mistake == "length-penalty-ignored" \
        else length_penalty
    rounds, kept_rounds, finished = search(tree, width,
                                           per_parent=mistake == "beam-as-greedy-paths",
                                           skip_eos=mistake == "eos-probability-ignored")
    steps = [Step(key=f"decoding.{method}" + ("_as_greedy" if mistake == "greedy-as-optimal"
                                              else ""),
                  data={"paths": [Series("conditionals", [p]) for p in _paths(tree)],
                        "width": beam_width, "nodes": _count(tree)})]
    if mistake == "beam-as-greedy-paths":
        steps.append(Step(key="decoding.per_parent", data={"width": beam_width}))
    if mistake == "eos-probability-ignored":
        steps.append(Step(key="decoding.eos_ignored", data={}))
    for t, (candidates, kept) in enumerate(zip(rounds, kept_rounds, strict=True), start=1):
        steps.append(Step(key="decoding.round", data={"t": t, "count": len(candidates),
                                                      "width": width}))
        for row, hyp in enumerate(candidates, start=1):
            p_last = hyp.probs[-1]
            prefix = sp.log(sp.Mul(*hyp.probs[:-1]))
            symbolic = (sp.Add(sym_sub("dec_logP", t - 1), Log(sym_sub("dec_p", t), sp.E),
                               evaluate=False) if t > 1 else Log(sym_sub("dec_p", 1), sp.E))
            numbers = (sp.Add(sp.Float(float(prefix)), Log(as_written(p_last, fractions=True),
                                                              sp.E), evaluate=False)
                       if t > 1 else Log(as_written(p_last, fractions=True), sp.E))
            state = "kept" if hyp in kept else "pruned"
            if hyp in kept and hyp.ended:
                state = "finished"
            steps.append(Step(key=f"decoding.candidate_{state}", lhs=sym_sub("dec_logP", t),
                              symbolic=symbolic, substituted=numbers,
                              value=sp.log(hyp.probability),
                              data={"seq": hyp.text, "t": t},
                              elidable=row_of("rows", row, len(candidates),
                                              f"decoding.round{t}")))
    ranked = _ranked(finished, alpha)
    if alpha is not None:
        for row, hyp in enumerate(ranked, start=1):
            n = len(hyp.tokens)
            steps.append(Step(key="decoding.penalty", lhs=sym("dec_S"),
                              symbolic=Ratio(sym("dec_logP"), sp.Pow(sym("dec_L"),
                                                                      sym("dec_alpha"),
                                                                      evaluate=False)),
                              substituted=Ratio(sp.Float(float(sp.log(hyp.probability))),
                                                sp.Pow(n, alpha, evaluate=False)),
                              value=_score(hyp, alpha), data={"seq": hyp.text, "L": n},
                              elidable=row_of("rows", row, len(ranked), "decoding.penalty")))
    log_probs = [sp.log(h.probability) for h in ranked]
    steps.append(Step(key="decoding.ranked" + ("_penalty" if alpha is not None else ""),
                      data={"ranking": " | ".join(h.text for h in ranked),
                            "best": ranked[0].text, "count": len(ranked)}))
    answers: dict[str, Any] = {
        "sequences": " | ".join(h.text for h in ranked),
        "log_probs": log_probs,
        "probabilities": [h.probability for h in ranked],
        "best": ranked[0].text,
    }
    if length_penalty != "none":
        answers["scores"] = [_score(h, alpha) for h in ranked]
    return Result(convention="natural-log",
                  steps=tuple(steps), answers=answers)


# ---------------------------------------------------------------------------------------------
# the probability of one path

PATH_PARAMS = [Param("probs", "array", shapes=(("T",),))]


def sample_path(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Three to five two-decimal step probabilities from 0.1 to 0.9."""
    t = draw.integer(3, 5)
    out = {"probs": [draw.decimal(0.1, 0.9, 2) for _ in range(t)]}
    out.update(fixed)
    return out


@derivation(
    "sequence-probability",
    params=PATH_PARAMS,
    answers=[Answer("probability", "number"), Answer("log_probability", "number")],
    limits={"T": 200},
    mistakes=[
        Mistake("probabilities-added", changes=("probability", "log_probability"),
                formula=True),
        Mistake("log-base-10", changes=("log_probability",), formula=True),
        # the log-probability in bits (log2) where natural logarithms are asked
        Mistake("log-base-2", changes=("log_probability",), formula=True),
        Mistake("mean-log-probability", changes=("log_probability",), formula=True),
    ],
    sampler=sample_path,
)
def sequence_probability(probs: sp.ImmutableMatrix, mistake: str | None = None) -> Result:
    """P(y) = prod_t p(y_t | y_<t) and log P(y) = sum_t log p(y_t | y_<t) (natural log).

    Args:
        probs: the step probabilities of one path, each in (0, 1].
        mistake: ``probabilities-added``, ``log-base-10`` or ``mean-log-probability``.
    """
    values = list(probs)
    for k, p in enumerate(values, start=1):
        if not 0 < p <= 1:
            raise InputError("probs", Said("inputs.probabilities"),
                             Said("inputs.entry", name="probs", index=k,
                                  value=plain_number(p, "echo")))
    n = len(values)
    ps = [sym_sub("dec_p", k) for k in range(1, n + 1)]
    written = [as_written(p, fractions=True) for p in values]
    added = mistake == "probabilities-added"
    joiner = sp.Add if added else sp.Mul
    probability = joiner(*values)
    i = sp.Symbol("t")
    general = (sp.Sum if added else sp.Product)(sp.Symbol("p_t"), (i, 1, n))
    steps = [Step(key="sequence_probability.product" + ("_added" if added else ""),
                  lhs=sym("dec_P"),
                  symbolic=joiner(*ps, evaluate=False) if n > 1 else ps[0],
                  substituted=joiner(*written, evaluate=False) if n > 1 else written[0],
                  value=probability, data={"T": n},
                  elidable=terms_of(n, symbolic=general, substituted=None))]
    base = {"log-base-10": sp.Integer(10), "log-base-2": sp.Integer(2)}.get(mistake or "", sp.E)
    logs = [Log(p, base) for p in ps]
    log_value = sp.log(probability) if added else sp.Add(*[sp.log(p) for p in values])
    if base != sp.E:
        log_value = log_value / sp.log(base)
    key = "sequence_probability.log"
    if added:
        key += "_added"
        steps.append(Step(key=key, lhs=sym("dec_logP"), symbolic=Log(sym("dec_P"), base),
                          value=log_value))
    else:
        symbolic = sp.Add(*logs, evaluate=False) if n > 1 else logs[0]
        numbers = [Log(w, base) for w in written]
        substituted = sp.Add(*numbers, evaluate=False) if n > 1 else numbers[0]
        if mistake == "mean-log-probability":
            key += "_mean"
            log_value = log_value / n
            symbolic = sp.Mul(sp.Rational(1, n), symbolic, evaluate=False)
            substituted = sp.Mul(sp.Rational(1, n), substituted, evaluate=False)
        elif base != sp.E:
            key += f"_{base}"
        steps.append(Step(key=key, lhs=sym("dec_logP"), symbolic=symbolic,
                          substituted=substituted, value=log_value, data={"T": n},
                          elidable=terms_of(n, symbolic=None, substituted=None)))
    return Result(convention="natural-log", steps=tuple(steps),
                  answers={"probability": probability, "log_probability": log_value})
