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


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _holds(got: list[float], target: list[float]) -> bool:
    """Whether ``got`` holds ``target`` as a run of consecutive numbers."""
    n = len(target)
    return any(all(_close(got[k + j], target[j]) for j in range(n))
               for k in range(len(got) - n + 1))


def hint_step(result: Any, ref: str, expected: Any) -> Step | None:
    """The step a hint shows for a value: the step computing exactly it; else one whose value
    holds it (a row of a matrix, one entry of a list); else one computing its first number;
    else the first step whose formula names the answer; else the first formula of the
    derivation (the model the value comes from). None only for a derivation without formulas.
    """
    found = step_for(result, expected)
    if found is not None and found.symbolic is not None:
        return found
    steps = [s for s in laid_out(result.steps) if s.symbolic is not None]
    target = _flat(expected)
    valued = [(s, _flat(s.value)) for s in steps if s.value is not None]
    if target:
        for s, got in valued:
            if got and len(got) >= len(target) and _holds(got, target):
                return s
        for s, got in valued:
            if got and any(_close(g, target[0]) for g in got):
                return s
    name = ref.split("[")[0]
    for s in steps:
        if s.lhs is not None and str(s.lhs).split("_")[0].split("(")[0] in (name,
                                                                             name.split("_")[0]):
            return s
    return steps[0] if steps else None


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


@dataclass
class Session:
    """How a practice session went: values answered (right or not), skipped, and left
    unanswered when the session was quit or its input ended."""

    right: int = 0
    answered: int = 0
    skipped: int = 0
    unanswered: int = 0

    @property
    def passed(self) -> bool:
        """Every answered value right (and at least one answered)."""
        return self.answered > 0 and self.right == self.answered


def run_practice(derivation: Derivation, seed: int, lang: str,
                 ask: Callable[[str], str], say: Callable[[str], None],
                 precision: Precision | None = None) -> Session:
    """Runs a session; returns how it went. ``ask`` raises EOFError when input ends; with
    ``precision``, a value rounded to it is right too.

    ``hint`` shows the step computing the value, with its formula and those it uses; after two
    wrong tries the worked step (formula, numbers put in, result) and the value are shown;
    ``skip`` shows the value and moves on; ``quit`` stops. The summary counts skipped values
    and those left when the session stopped as not answered."""
    from dlexam.render.prose import prose_text
    from dlexam.render.question import question_text

    params = derivation.sample(seed)
    checker = Checker(derivation, params, precision=precision)
    say(prose_text(lang, "practice.title", {"name": derivation.name, "seed": seed}))
    say("")
    say(question_text(derivation, params, lang))
    say("")
    say(prose_text(lang, "practice.how"))
    session = Session()
    asked = list(items(derivation, checker.expected))
    # what the student typed for the values answered so far: a later value computed from
    # their own earlier one is right, carried forward (as check and grade judge it)
    earlier: dict[str, str] = {}

    def finish(position: int) -> Session:
        session.unanswered = len(asked) - position
        say("")
        say(prose_text(lang, "practice.summary", {
            "right": session.right, "answered": session.answered, "skipped": session.skipped,
            "unanswered": session.unanswered}))
        return session

    for position, item in enumerate(asked):
        tries = 0
        while tries < TRIES:
            prompt = prose_text(lang, "practice.prompt",
                                {"ref": item.ref, "shape": _shape_words(item.expected, lang)})
            try:
                typed = ask(prompt + " > ").strip()
            except EOFError:
                return finish(position)
            if typed.lower() in ("quit", "exit", "q"):
                return finish(position)
            if typed.lower() in ("hint", "?"):
                step = hint_step(checker.right, item.ref, item.expected)
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
                session.skipped += 1
                say("  " + prose_text(lang, "practice.skipped", {
                    "ref": item.ref, "value": _value_text(item.expected)}))
                break
            try:
                report = checker.check({**earlier, item.ref: typed})
            except InputError as err:
                say("  " + err.said_in(lang))
                continue
            tries += 1
            earlier[item.ref] = typed
            mine = [v for v in report.verdicts if v.item == item.ref]
            if all(v.correct for v in mine):
                carried = next((v for v in mine if v.carried), None)
                if carried is not None and carried.follows_from is not None:
                    say("  ✓ " + prose_text(lang, "check.carried", {
                        "ref": format_ref(*carried.follows_from)}))
                else:
                    say("  ✓ " + prose_text(lang, "check.right"))
                session.right += 1
                session.answered += 1
                break
            wrong = next(v for v in mine if not v.correct)
            say("  ✗ " + prose_text(lang, "practice.wrong"))
            if wrong.note == "rounding-slip":
                say("    " + prose_text(lang, "practice.slip"))
            elif wrong.mistake is not None:  # said as check says it
                from dlexam.check.report import mistake_lines

                for line in mistake_lines(report, wrong, lang, typed.strip()):
                    say("    " + line)
            if tries < TRIES:
                say("  " + prose_text(lang, "practice.again"))
            else:
                session.answered += 1
                _worked(checker, item, lang, say)
    return finish(len(asked))


def _worked(checker: Checker, item: Item, lang: str, say: Callable[[str], None]) -> None:
    """The whole worked step of a value: what it uses, its formula, the numbers put in and the
    result; then the value."""
    from dlexam.render.prose import prose_text
    from dlexam.render.terminal import step_lines

    step = hint_step(checker.right, item.ref, item.expected)
    say("  " + prose_text(lang, "practice.worked", {"ref": item.ref}))
    if step is not None:
        say("    " + prose_text(lang, step.key, step.data))
        for shown in [*feeding_steps(checker.right, step), step]:
            for line in step_lines(shown, lang):
                say("    " + line)
    say("    " + f"{item.ref} = {_value_text(item.expected)}")


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return plain_number(value, "echo")
    return str(value)
