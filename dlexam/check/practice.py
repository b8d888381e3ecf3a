"""`dlexam practice`: a sampled question asked answer by answer, checked as `dlexam check` does.

A wrong value is answered with the named mistake it matches (or a rounding slip); ``hint`` shows
the formula of the step that computes the value; after two wrong tries the worked step and the
value are shown and the next value is asked. The session ends with the score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dlexam.check.verdicts import Checker
from dlexam.derivations.contract import RAGGED_KINDS, Precision, format_ref, leaves
from dlexam.derivations.core import Derivation, Step, to_plain
from dlexam.errors import InputError
from dlexam.notation import text
from dlexam.notation.display import laid_out, plain_number

TRIES = 2


@dataclass(frozen=True)
class Item:
    """One value to ask: an answer's reference (``h[2]``) and its expected plain value."""

    ref: str
    expected: Any


def items(derivation: Derivation, expected: dict[str, Any]) -> Iterator[Item]:
    """The asked values in turn: a list of vectors (or of matrices, of whole numbers) one entry
    at a time, any other answer whole."""
    for answer in derivation.answers:
        if not answer.asked or answer.kind == "text" or answer.name not in expected:
            continue
        value = expected[answer.name]
        if answer.kind in ("vectors", "matrices", "integers", *RAGGED_KINDS) and isinstance(
                value, list):
            for i, entry in enumerate(value, start=1):
                yield Item(format_ref(answer.name, [i]), entry)
        else:
            yield Item(answer.name, value)


def _flat(value: Any) -> list[float]:
    out = []
    for _pos, x in leaves(to_plain(value)):
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            out.append(float(x))
        else:
            return []
    return out


def step_for(result: Any, expected: Any) -> Step | None:
    """The first step the layout shows whose value holds exactly the expected numbers (the step
    computing it), as the layout shows it."""
    target = _flat(expected)
    if not target:
        return None
    for step in laid_out(result.steps):
        if step.value is None:
            continue
        got = _flat(step.value)
        if len(got) == len(target) and all(
                abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(got, target, strict=True)):
            return step
    return None


def feeding_steps(result: Any, step: Step) -> list[Step]:
    """The steps of the same time step whose results the step's formula uses (for h_t =
    tanh(a_t), the step computing a_t), in order: a hint names what goes in, not only the last
    operation."""
    steps = laid_out(result.steps)
    position = steps.index(step)
    # by name: a formula may write a quantity as a row or a column (another SymPy symbol)
    assert step.symbolic is not None  # a step with a value has its formula
    used = {str(x) for x in step.symbolic.free_symbols}
    found: dict[str, Step] = {}
    for earlier in steps[:position]:
        if (earlier.lhs is not None and earlier.symbolic is not None
                and earlier.data.get("t") == step.data.get("t") and str(earlier.lhs) in used):
            found[str(earlier.lhs)] = earlier  # the latest computation of each quantity
    return list(found.values())


def _shape_words(value: Any, lang: str) -> str:
    from dlexam.render.prose import prose_text

    if isinstance(value, list) and value and isinstance(value[0], list):
        return prose_text(lang, "practice.shape_matrix", {"rows": len(value),
                                                          "cols": len(value[0])})
    if isinstance(value, list):
        return prose_text(lang, "practice.shape_list", {"n": len(value)})
    return prose_text(lang, "practice.shape_number")


def run_practice(derivation: Derivation, seed: int, lang: str,
                 ask: Callable[[str], str], say: Callable[[str], None],
                 precision: Precision | None = None) -> tuple[int, int]:
    """Runs a session; returns (right, asked). ``ask`` raises EOFError when input ends; with
    ``precision``, a value rounded to it is right too."""
    from dlexam.render.prose import prose_text
    from dlexam.render.question import question_text
    from dlexam.render.terminal import step_lines

    params = derivation.sample(seed)
    checker = Checker(derivation, params, precision=precision)
    say(prose_text(lang, "practice.title", {"name": derivation.name, "seed": seed}))
    say("")
    say(question_text(derivation, params, lang))
    say("")
    say(prose_text(lang, "practice.how"))
    right = asked = 0
    for item in items(derivation, checker.expected):
        asked += 1
        tries = 0
        while tries < TRIES:
            prompt = prose_text(lang, "practice.prompt",
                                {"ref": item.ref, "shape": _shape_words(item.expected, lang)})
            try:
                typed = ask(prompt + " > ").strip()
            except EOFError:
                say("")
                say(prose_text(lang, "practice.score", {"right": right, "asked": asked - 1}))
                return right, asked - 1
            if typed.lower() in ("quit", "exit", "q"):
                say(prose_text(lang, "practice.score", {"right": right, "asked": asked - 1}))
                return right, asked - 1
            if typed.lower() in ("hint", "?"):
                step = step_for(checker.right, item.expected)
                if step is None or step.symbolic is None:
                    say("  " + prose_text(lang, "practice.no_hint"))
                else:
                    say("  " + prose_text(lang, step.key, step.data))
                    for shown in [*feeding_steps(checker.right, step), step]:
                        formula = text(shown.symbolic)
                        say("    " + (f"{text(shown.lhs)} = {formula}"
                                      if shown.lhs is not None else formula))
                continue
            if typed.lower() == "skip":
                break
            try:
                report = checker.check({item.ref: typed})
            except InputError as err:
                say("  " + err.said_in(lang))
                continue
            tries += 1
            if report.correct == report.total:
                say("  ✓ " + prose_text(lang, "check.right"))
                right += 1
                break
            wrong = next(v for v in report.verdicts if not v.correct)
            say("  ✗ " + prose_text(lang, "practice.wrong"))
            if wrong.note == "rounding-slip":
                say("    " + prose_text(lang, "practice.slip"))
            elif wrong.mistake is not None:  # said as check says it
                key = derivation.mistake_key(wrong.mistake)
                say("    " + prose_text(lang, "check.mistake", {
                    "given": typed.strip(), "name": prose_text(lang, key + ".name")}))
                say("    " + prose_text(lang, key + ".explain"))
            if tries < TRIES:
                say("  " + prose_text(lang, "practice.again"))
        else:
            step = step_for(checker.right, item.expected)
            say("  " + prose_text(lang, "practice.worked", {"ref": item.ref}))
            if step is not None:
                say("    " + prose_text(lang, step.key, step.data))
                for line in step_lines(step):
                    say("    " + line)
            say("    " + f"{item.ref} = {_value_text(item.expected)}")
    say("")
    say(prose_text(lang, "practice.score", {"right": right, "asked": asked}))
    return right, asked


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return plain_number(value, "echo")
    return str(value)
