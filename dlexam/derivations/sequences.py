"""Sequence-level metrics of language models: perplexity and BLEU.

Perplexity of N tokens with probabilities p_i: the cross-entropy H_b = -(1/N) sum log_b p_i in
base b, and PP = b^H_b = (prod p_i)^(-1/N), the same in every base. The probabilities are given,
or come from a unigram model: p(w) = count(w) / (total count), from a JSON table of training
counts; a test token the table lacks has probability 0 and the perplexity is infinite.

BLEU (Papineni et al. 2002) of one candidate against references, every text split on spaces,
case kept: clipped n-gram precisions p_n = sum_g min(count(g), max_ref count_ref(g)) /
sum_g count(g) for n = 1 .. max_n, the brevity penalty BP = 1 if c > r else exp(1 - r / c) with
r the reference length closest to the candidate's c (ties to the shorter, as NLTK's corpus_bleu
and sacrebleu), and BLEU = BP exp(sum_n w_n log p_n). Conventions: no smoothing, so BLEU is 0
when some weighted precision has no match (NLTK's corpus_bleu without a smoothing function); a
candidate shorter than n has p_n = 0 over 0 n-grams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, row_of, terms_of
from dlexam.derivations.distributions import Log, base_number, log_exact
from dlexam.derivations.forms import Ratio, as_written, row_vector
from dlexam.derivations.params import Param, bind_dims, exact, json_kind
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import base_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub
from dlexam.notation.display import Listed, Series, plain_number

register_symbols({
    "seq_H": ("H", "H"),
    "seq_PP": (r"\mathrm{PP}", "PP"),
    "seq_N": ("N", "N"),
    "seq_p": ("p", "p"),
    "seq_BP": (r"\mathrm{BP}", "BP"),
    "seq_BLEU": (r"\mathrm{BLEU}", "BLEU"),
    "seq_c": ("c", "c"),
    "seq_r": ("r", "r"),
    "seq_w": ("w", "w"),
    "seq_pn": ("p", "p"),
})

TEXT_MAX = 1000
"""The longest candidate, reference or test text, in characters."""


def _tokens(name: str, text: str) -> list[str]:
    words = text.split()
    if not words:
        raise InputError(name, Said("inputs.one_word"), Said("inputs.none_given"))
    return words


def read_counts(name: str, value: Any, limits: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """A JSON object token -> count of the training tokens (whole numbers >= 0, some > 0)."""
    if not isinstance(value, Mapping) or not value:
        raise InputError(name, Said("sequences.errors.counts", example='{"the": 3, "cat": 1}'),
                         json_kind(value) if not isinstance(value, Mapping)
                         else Said("inputs.empty_object"))
    cap = limits.get("V")
    if cap is not None and len(value) > cap:
        raise InputError(name, Said("inputs.at_most", name="V", n=cap), f"V = {len(value)}")
    out = []
    for token, count in value.items():
        if not token or token != token.strip() or len(token.split()) != 1:
            raise InputError(name, Said("sequences.errors.tokens"), repr(token))
        number = exact(count)
        if not number.is_Integer or number < 0:
            raise InputError(name, Said("sequences.errors.whole_counts"), f"{token}: {count}")
        out.append((token, int(number)))
    if not any(c for _t, c in out):
        raise InputError(name, Said("sequences.errors.a_count"), Said("inputs.all_zeros"))
    return tuple(out)


def read_references(name: str, value: Any, limits: Mapping[str, int]) -> tuple[str, ...]:
    """A JSON list of reference texts (each with a word)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(name, Said("sequences.errors.references", example='["the cat sat"]'),
                         json_kind(value) if not isinstance(value, (list, tuple))
                         else Said("errors.empty_list"))
    cap = limits.get("R")
    if cap is not None and len(value) > cap:
        raise InputError(name, Said("inputs.at_most", name="R", n=cap), f"R = {len(value)}")
    for i, text in enumerate(value, start=1):
        if not isinstance(text, str):
            raise InputError(name, Said("sequences.errors.texts"),
                             Said("errors.item", index=i, got=repr(text)))
        _tokens(f"{name}[{i}]", text)
    return tuple(value)


METRIC_PARAMS = [
    Param("metric", "choice", default="perplexity", choices=("perplexity", "bleu")),
    Param("probs", "array", shapes=(("N",),), default=None),
    Param("counts", "json", default=None, reader=read_counts, max_length=40,
          expects="sequence_metrics.expects.counts"),
    Param("test", "string", default=None, max_length=TEXT_MAX),
    Param("base", "choice", default="e", choices=("2", "e", "10")),
    Param("candidate", "string", default=None, max_length=TEXT_MAX),
    Param("references", "json", default=None, reader=read_references, max_length=TEXT_MAX,
          expects="sequence_metrics.expects.references"),
    Param("max_n", "int", default=4, minimum=1, maximum=8),
    Param("weights", "array", shapes=(("n",),), default=None, trace="nonzero"),
    Param("brevity", "bool", default=True),
]


def ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """The n-grams of a text with their counts."""
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def clipped_counts(candidate: Sequence[str], references: Sequence[Sequence[str]], n: int,
                   clip: bool = True) -> tuple[int, int, list[tuple[Series, int, int, int]]]:
    """(matches, total, per n-gram: its words, count, most in one reference, counted)."""
    grams = ngrams(candidate, n)
    most: Counter[tuple[str, ...]] = Counter()
    for ref in references:
        for g, k in ngrams(ref, n).items():
            most[g] = max(most[g], k)
    rows = []
    for g, k in grams.items():
        counted = min(k, most[g]) if clip else (k if most[g] else 0)
        rows.append((Series("words", g), k, most[g], counted))
    return sum(r[3] for r in rows), sum(grams.values()), rows


def closest_length(c: int, lengths: Sequence[int]) -> int:
    """The reference length closest to c, ties to the shorter."""
    return min(lengths, key=lambda r: (abs(r - c), r))


def _raw_words(params: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    return (str(params["candidate"]).split(), [str(r).split() for r in params["references"]])


def _clipping_shows(params: Mapping[str, Any]) -> bool:
    """Whether some n-gram of the candidate occurs more often than in any reference."""
    if params["metric"] != "bleu" or not params["candidate"] or not params["references"]:
        return False
    cand, refs = _raw_words(params)
    return any(clipped_counts(cand, refs, n)[0] != clipped_counts(cand, refs, n, False)[0]
               for n in range(1, int(params["max_n"]) + 1))


def _penalised(params: Mapping[str, Any]) -> bool:
    """Whether the candidate is shorter than the closest reference (brevity penalty < 1)."""
    if params["metric"] != "bleu" or not params["brevity"] or not params["candidate"] \
            or not params["references"]:
        return False
    cand, refs = _raw_words(params)
    return len(cand) < closest_length(len(cand), [len(r) for r in refs])


def _perplexity_question(params: Mapping[str, Any]) -> bool:
    return params["metric"] == "perplexity"


METRIC_MISTAKES = [
    Mistake("precision-not-clipped", changes=("precisions", "matches", "bleu"), formula=True,
            applies=_clipping_shows),
    Mistake("brevity-penalty-left-out", changes=("brevity_penalty", "bleu"),
            params=with_params(brevity=False), applies=_penalised),
    Mistake("log-base-mixed", changes=("perplexity",), formula=True,
            applies=_perplexity_question),
    Mistake("no-geometric-mean", changes=("perplexity", "cross_entropy"), formula=True,
            applies=_perplexity_question),
    # the cross-entropy in bits where nats were asked (the perplexity is the same in any base)
    Mistake("bits-for-nats", changes=("cross_entropy",), params=with_params(base="2"),
            applies=lambda p: _perplexity_question(p) and str(p["base"]) == "e"),
]

_VOCABULARY = ("the", "a", "cat", "dog", "sat", "on", "mat", "ran", "is", "big", "red", "small")

# sentences of our own, each with a second reference saying the same in other words
_SENTENCES = (
    ("the cat sat on the mat", "a cat was sitting on the mat"),
    ("the dog ran across the park", "a dog was running in the park"),
    ("there is a red book on the table", "a red book lies on the table"),
    ("the children are playing in the garden", "kids play in the garden"),
    ("she reads a new book every week", "every week she reads a new book"),
    ("the train leaves the station at noon", "at noon the train departs from the station"),
    ("we drink hot tea in the morning", "in the morning we have hot tea"),
    ("the old man walks his dog", "an old man is walking his dog"),
)
_SWAPS = ("a", "the", "big", "small", "quickly", "here", "now", "very")


def sample_metric(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Perplexity (from 3 to 5 two-decimal probabilities, or a unigram model of 4 to 6 words
    and a test text of 3 to 5 of them) or BLEU (a candidate made from one of our sentences,
    a word replaced and often one repeated or one dropped, against the sentence and a second
    wording of it, max_n 2 to 4)."""
    dims = bind_dims(METRIC_PARAMS, fixed)
    implied = ("perplexity" if {"probs", "counts", "test"} & set(fixed) else
               "bleu" if {"candidate", "references", "weights"} & set(fixed) else None)
    metric = fixed.get("metric", implied or draw.choice(("perplexity", "bleu")))
    out: dict[str, Any] = {"metric": metric}
    if metric == "perplexity":
        out["base"] = draw.choice(("2", "e", "10"))
        if "counts" in fixed or "test" in fixed or ("probs" not in fixed and draw.chance(0.5)):
            words = list(_VOCABULARY[:draw.integer(4, 6)])
            out["counts"] = {w: draw.integer(1, 9) for w in words}
            out["test"] = " ".join(draw.choice(words) for _ in range(draw.integer(3, 5)))
        else:
            n = dims.get("N", draw.integer(3, 5))
            out["probs"] = [draw.decimal(0.05, 0.9, 2) for _ in range(n)]
        out.update(fixed)
        return out
    n = int(fixed.get("max_n", draw.integer(2, 4)))
    out["max_n"] = n
    for _ in range(200):
        first, second = draw.choice(_SENTENCES)
        cand = first.split()
        cand[draw.integer(0, len(cand) - 1)] = draw.choice(_SWAPS)
        if draw.chance(0.6):  # a word said twice, so that clipping shows
            at = draw.integer(0, len(cand) - 1)
            cand.insert(at, cand[at])
        if draw.chance(0.6):  # the end cut short, so that the brevity penalty shows
            del cand[-draw.integer(1, 2):]
        out["candidate"], out["references"] = " ".join(cand), [first, second]
        out.update(fixed)
        cand_w, refs_w = _raw_words(out)
        if all(clipped_counts(cand_w, refs_w, k)[0] for k in range(1, n + 1)):
            break
    return out


def _sum_written(terms: Sequence[sp.Basic]) -> sp.Basic:
    return sp.Add(*terms, evaluate=False) if len(terms) > 1 else terms[0]


def _root(product: sp.Basic, n: int) -> sp.Basic:
    """product^(-1/n): worked out exactly for small rationals (10^7 digits' worth of
    (1/10)^7 gives 10), left as the power otherwise (SymPy would factor a 200-digit integer)."""
    small = product.is_Rational and max(abs(product.p), product.q) < 10**40
    return sp.Pow(product, -sp.Rational(1, n), evaluate=bool(small))


def _perplexity(probs: list[sp.Basic], base: str, steps: list[Step], mistake: str | None
                ) -> dict[str, Any]:
    b = base_number(base)
    n = len(probs)
    i = sp.Symbol("i")
    written = [as_written(p, fractions=True) for p in probs]
    symbolic_terms = [Log(sym_sub("seq_p", k), b) for k in range(1, n + 1)]
    number_terms = [Log(w, b) for w in written]
    mean = mistake != "no-geometric-mean"
    zero = any(p == 0 for p in probs)
    total = sp.oo if zero else -sp.Add(*[log_exact(p, b) for p in probs])
    entropy = total / n if mean and not zero else total
    factor = sp.Rational(-1, n) if mean else sp.Integer(-1)
    symbolic = sp.Mul(factor, _sum_written(symbolic_terms), evaluate=False)
    substituted = sp.Mul(factor, _sum_written(number_terms), evaluate=False)
    general = sp.Mul(factor, sp.Sum(Log(sp.Symbol("p_i"), b), (i, 1, n)), evaluate=False)
    steps.append(Step(key="sequence_metrics.cross_entropy" + ("" if mean else "_sum"),
                      lhs=sym("seq_H"), symbolic=symbolic, substituted=substituted,
                      value=entropy, data={"N": n, "base": b, "zero": zero},
                      elidable=terms_of(n, symbolic=general, substituted=None)))
    other = {"e": sp.Integer(2), "2": sp.E, "10": sp.E}[base]
    power_base = other if mistake == "log-base-mixed" else b
    if zero:
        perplexity = sp.oo
    elif mistake == "log-base-mixed":
        perplexity = sp.Pow(power_base, entropy)
    else:
        product = sp.Mul(*probs)
        perplexity = _root(product, n) if mean else 1 / product
    with sp.evaluate(False):
        formula = sp.Pow(power_base, sym("seq_H"))
    steps.append(Step(key="sequence_metrics.perplexity" + (
        "_mixed" if mistake == "log-base-mixed" else ""), lhs=sym("seq_PP"), symbolic=formula,
        substituted=sp.Pow(power_base, sp.Float(float(entropy)) if not zero else sp.oo,
                           evaluate=False),
        value=perplexity, data={"base": b, "other": power_base}))
    return {"perplexity": perplexity, "cross_entropy": entropy}


def _bleu(candidate: list[str], references: list[list[str]], max_n: int, weights: list[Any],
          brevity: bool, steps: list[Step], mistake: str | None) -> dict[str, Any]:
    clip = mistake != "precision-not-clipped"
    c = len(candidate)
    lengths = [len(r) for r in references]
    steps.append(Step(key="sequence_metrics.bleu_texts",
                      data={"candidate": Series("words", candidate), "c": c,
                            "references": Series("references",
                                                 [Series("words", r) for r in references]),
                            "lengths": lengths}))
    precisions, matches, totals = [], [], []
    for n in range(1, max_n + 1):
        m, t, rows = clipped_counts(candidate, references, n, clip)
        listing = Series("clipped" if clip else "unclipped", rows)
        p = sp.Rational(m, t) if t else sp.Integer(0)
        precisions.append(p)
        matches.append(m)
        totals.append(t)
        steps.append(Step(key="sequence_metrics.precision" + ("" if clip else "_unclipped"),
                          lhs=sym_sub("seq_pn", n), symbolic=Ratio(sp.Integer(m), sp.Integer(t)),
                          value=p, data={"n": n, "grams": listing or "-", "matches": m,
                                         "total": t},
                          elidable=row_of("rows", n, max_n, "sequence_metrics.precisions")))
    r = closest_length(c, lengths)
    if brevity:
        bp = sp.Integer(1) if c > r else sp.exp(1 - sp.Rational(r, c))
        with sp.evaluate(False):
            shown = sp.Integer(1) if c > r else sp.exp(sp.Add(1, -Ratio(sp.Integer(r),
                                                                        sp.Integer(c))))
        steps.append(Step(key="sequence_metrics.brevity" + ("_long" if c > r else ""),
                          lhs=sym("seq_BP"), symbolic=shown, value=bp,
                          data={"c": c, "r": r, "lengths": lengths}))
    else:
        bp = sp.Integer(1)
        steps.append(Step(key="sequence_metrics.no_brevity", data={"c": c, "r": r}))
    zero = any(p == 0 and w != 0 for p, w in zip(precisions, weights, strict=True))
    score = sp.Integer(0) if zero else bp * sp.Mul(*[sp.Pow(p, w) for p, w in
                                                     zip(precisions, weights, strict=True)
                                                     if w != 0])
    with sp.evaluate(False):
        terms = [sp.Mul(as_written(w, fractions=True), sp.log(sym_sub("seq_pn", n)))
                 for n, w in enumerate(weights, start=1)]
        formula = sp.Mul(sym("seq_BP"), sp.exp(_sum_written(terms)))
    steps.append(Step(key="sequence_metrics.bleu" + ("_zero" if zero else ""),
                      lhs=sym("seq_BLEU"), symbolic=formula, value=score,
                      data={"weights": row_vector([as_written(w, fractions=True)
                                                   for w in weights])},
                      elidable=terms_of(max_n, symbolic=None)))
    return {"precisions": precisions, "matches": matches, "totals": totals,
            "brevity_penalty": bp, "bleu": score}


def _metric_question(values: dict[str, Any]) -> dict[str, Any]:
    if values["metric"] == "bleu":
        refs = values["references"] or ()
        n = values["max_n"]
        weights = (list(values["weights"]) if values["weights"] is not None
                   else [sp.Rational(1, n)] * n)
        return {"statement": "bleu" if values["brevity"] else "bleu_no_brevity",
                "references": Series("references", refs),
                "weights": row_vector([as_written(w, fractions=True) for w in weights])}
    if values["counts"] is not None:
        return {"statement": "unigram", "base_words": base_phrase(values["base"]),
                "counts": Series("counts", values["counts"])}
    return {"base_words": base_phrase(values["base"])}


@derivation(
    "sequence-metrics",
    params=METRIC_PARAMS,
    answers=[
        Answer("perplexity", "number", optional=True),
        Answer("cross_entropy", "number", optional=True),
        Answer("precisions", "vector", shapes=(("n",),), optional=True),
        Answer("matches", "integers", shapes=(("n",),), optional=True),
        Answer("totals", "integers", shapes=(("n",),), optional=True),
        Answer("brevity_penalty", "number", optional=True),
        Answer("bleu", "number", optional=True),
    ],
    limits={"N": 200, "V": 200, "R": 8, "n": 8},
    mistakes=METRIC_MISTAKES,
    sampler=sample_metric,
    question=_metric_question,
)
def sequence_metrics(metric: str, probs: sp.ImmutableMatrix | None,
                     counts: tuple[tuple[str, int], ...] | None, test: str | None, base: str,
                     candidate: str | None, references: tuple[str, ...] | None, max_n: int,
                     weights: sp.ImmutableMatrix | None, brevity: bool,
                     mistake: str | None = None) -> Result:
    """Perplexity and cross-entropy, or BLEU with its clipped precisions and brevity penalty.

    Args:
        metric: ``perplexity`` or ``bleu``.
        probs: each token's probability (perplexity), or
        counts, test: a unigram model's training counts and a test text.
        base: the cross-entropy's logarithm (2, e or 10).
        candidate, references: BLEU's texts (split on spaces, case kept).
        max_n, weights, brevity: BLEU's longest n-gram, weights (1/max_n each by default) and
            whether the brevity penalty applies.
        mistake: ``precision-not-clipped``, ``log-base-mixed`` or ``no-geometric-mean``.
    """
    steps: list[Step] = []
    other = (("candidate", candidate), ("references", references), ("weights", weights)) \
        if metric == "perplexity" else (("probs", probs), ("counts", counts), ("test", test))
    for name, value in other:
        if value is not None:
            raise InputError(name, Said("sequences.errors.other_metric", name=name,
                                        metric=metric, other="bleu" if metric == "perplexity"
                                        else "perplexity"), Said("inputs.one"))
    if metric == "perplexity":
        if (probs is None) == (counts is None):
            raise InputError("probs", Said("sequences.errors.probs_or_counts"),
                             Said("errors.both" if probs is not None else "inputs.neither"))
        if probs is not None:
            values = list(probs)
            for k, p in enumerate(values, start=1):
                if not 0 < p <= 1:
                    raise InputError("probs", Said("inputs.probabilities"),
                                     Said("inputs.entry", name="probs", index=k,
                                          value=plain_number(p, "echo")))
            steps.append(Step(key="sequence_metrics.probs",
                              data={"N": len(values), "probs": row_vector(values)}))
        else:
            if test is None:
                raise InputError("test", Said("sequences.errors.test"), Said("errors.nothing"))
            table = dict(counts or ())
            total = sum(table.values())
            words = _tokens("test", test)
            values = [sp.Rational(table.get(w, 0), total) for w in words]
            listing = [f"{w}: {table.get(w, 0)}/{total}" for w in words]
            unseen = sorted({w for w in words if not table.get(w)})
            steps.append(Step(key="sequence_metrics.unigram" + ("_unseen" if unseen else ""),
                              lhs=sym("seq_p"), symbolic=row_vector(
                                  [Ratio(sp.Integer(table.get(w, 0)), sp.Integer(total))
                                   for w in words]),
                              value=row_vector(values),
                              data={"N": len(words), "total": total, "listing": listing,
                                    "unseen": Listed(unseen)},
                              elidable=terms_of(len(words), symbolic=None)))
        answers = _perplexity(values, base, steps, mistake)
        return Result(convention={"2": "bits", "e": "nats", "10": "hartleys"}[base],
                      steps=tuple(steps), answers=answers)
    if candidate is None or references is None:
        raise InputError("candidate" if candidate is None else "references",
                         Said("sequences.errors.bleu_texts"), Said("errors.nothing"))
    cand = _tokens("candidate", candidate)
    refs = [r.split() for r in references]
    if weights is None:
        ws: list[Any] = [sp.Rational(1, max_n)] * max_n
    else:
        ws = list(weights)
        if len(ws) != max_n:
            raise InputError("weights", Said("sequences.errors.weights", n=max_n), f"{len(ws)}")
        if any(w < 0 for w in ws):
            raise InputError("weights", Said("sequences.errors.weights_sign"),
                             ", ".join(plain_number(w, "echo") for w in ws))
    answers = _bleu(cand, refs, max_n, ws, brevity, steps, mistake)
    return Result(convention="bleu-closest-reference",
                  steps=tuple(steps), answers=answers)
