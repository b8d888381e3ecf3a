"""Parses Keras-style model descriptions: ``"LSTM(30, return_sequences=True), Dense(1)"``.

The text is tokenised and read by a recursive-descent parser: nothing is evaluated as code. It
accepts what a student pastes from Keras code: positional units, keyword arguments with numbers,
booleans, quoted strings and tuples (``input_shape=(3, 1)``), and a wrapped layer
(``Bidirectional(LSTM(16))``).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from dlexam.errors import InputError, Said

MODEL_MAX_LENGTH = 1000
"""The longest model description read, in characters."""
MODEL_MAX_DEPTH = 4
"""Brackets nest at most this deep: ``[Bidirectional(LSTM(8, input_shape=(3, 1)))]``."""
MODEL_MAX_LAYERS = 32
"""The most layers a model may list."""
MODEL_MAX_NUMBER = 10**7
"""The largest whole number in a model (units, vocabulary sizes, input shapes)."""

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<str>'[^'\\]*'|"[^"\\]*")
      | (?P<punct>[(),=;\[\]])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class LayerSpec:
    """One parsed layer: its type, positional arguments and keyword arguments."""

    kind: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _tokenize(text: str, param: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            snippet = text[pos : pos + 12]
            raise InputError(
                param, Said("model_spec.errors.layers"),
                Said("model_spec.errors.unexpected", text=repr(snippet))
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, text: str, param: str) -> None:
        self.param = param
        self.tokens = _tokenize(text, param)
        self.i = 0

    def error(self, expected: str) -> InputError:
        if self.i < len(self.tokens):
            return InputError(self.param, expected, repr(self.tokens[self.i][1]))
        return InputError(self.param, expected, Said("model_spec.errors.the_end"))

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str) -> None:
        tok = self.peek()
        if tok is None or tok[1] != value:
            raise self.error(f"{value!r}")
        self.i += 1

    def model(self) -> list[list[LayerSpec]]:
        chains = [self.chain()]
        while self.peek() == ("punct", ";"):
            self.take(";")
            if self.peek() is None:
                break
            chains.append(self.chain())
        if self.peek() is not None:
            raise self.error(Said("model_spec.errors.between_layers"))
        return chains

    def chain(self) -> list[LayerSpec]:
        if self.peek() is not None and self.peek() == ("punct", "["):
            self.take("[")
            layers = self.layers()
            self.take("]")
        else:
            layers = self.layers()
        return layers

    def layers(self) -> list[LayerSpec]:
        layers = [self.layer()]
        while self.peek() == ("punct", ","):
            self.take(",")
            if self.peek() is None or self.peek() == ("punct", "]"):
                break
            layers.append(self.layer())
        return layers

    def layer(self) -> LayerSpec:
        tok = self.peek()
        if tok is None or tok[0] != "name":
            raise self.error(Said("model_spec.errors.layer_name"))
        self.i += 1
        kind = tok[1].split(".")[-1]  # layers.LSTM -> LSTM
        self.take("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while self.peek() != ("punct", ")"):
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            tok = self.peek()
            if tok is not None and tok[0] == "name" and nxt == ("punct", "="):
                if tok[1] in kwargs:
                    raise self.error(Said("model_spec.errors.once", name=tok[1], kind=kind))
                self.i += 2
                kwargs[tok[1]] = self.value()
            else:
                if kwargs:
                    raise self.error(Said("model_spec.errors.keywords_last"))
                args.append(self.value())
            if self.peek() == ("punct", ","):
                self.take(",")
            elif self.peek() != ("punct", ")"):
                raise self.error(Said("model_spec.errors.comma_or", closing=")"))
        self.take(")")
        return LayerSpec(kind=kind, args=tuple(args), kwargs=kwargs)

    def value(self) -> Any:
        if self.peek() == ("punct", "["):  # a list, read as a tuple: input_shape=[3, 1]
            self.take("[")
            items: list[Any] = []
            while self.peek() != ("punct", "]"):
                items.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take(",")
                elif self.peek() != ("punct", "]"):
                    raise self.error(Said("model_spec.errors.comma_or", closing="]"))
            self.take("]")
            return tuple(items)
        return self._value()

    def _value(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.error(Said("inputs.a_value"))
        kind, text = tok
        if kind == "num":
            self.i += 1
            if len(text) > 12:
                raise InputError(self.param, Said("model_spec.errors.numbers", n=MODEL_MAX_NUMBER),
                                 text[:12] + "...")
            number = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
            if abs(number) > MODEL_MAX_NUMBER:
                raise InputError(self.param, Said("model_spec.errors.numbers", n=MODEL_MAX_NUMBER),
                                 text)
            return number
        if kind == "str":
            self.i += 1
            return text[1:-1]
        if kind == "name" and text in ("True", "False", "None"):
            self.i += 1
            return {"True": True, "False": False, "None": None}[text]
        if kind == "name":
            return self.layer()
        if tok == ("punct", "("):
            self.take("(")
            items: list[Any] = []
            while self.peek() != ("punct", ")"):
                items.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take(",")
                elif self.peek() != ("punct", ")"):
                    raise self.error(Said("model_spec.errors.comma_or", closing=")"))
            self.take(")")
            return tuple(items)
        raise self.error(Said("model_spec.errors.value"))


def parse_model(text: str, param: str = "model") -> list[LayerSpec]:
    """Parses a model description into layer specs (the chains of a functional model joined).

    Raises:
        InputError: naming ``param``, when the text is not a list of layers.
    """
    return [layer for chain in parse_chains(text, param) for layer in chain]


def parse_chains(text: str, param: str = "model") -> list[list[LayerSpec]]:
    """Parses a model description into chains of layer specs: ``a, b; c, d`` is two chains
    (the branches of a functional model, each with its own input).

    An exam's sampler parses its few models again and again: each text is parsed once, and
    every caller given a copy of its own.

    Raises:
        InputError: naming ``param``, when the text is not a list of layers.
    """
    return copy.deepcopy(_parse_chains(text, param))


@functools.lru_cache(maxsize=256)
def _parse_chains(text: str, param: str) -> list[list[LayerSpec]]:
    if not text.strip():
        raise InputError(param, Said("model_spec.errors.one_layer"),
                         Said("model_spec.errors.empty"))
    if len(text) > MODEL_MAX_LENGTH:
        raise InputError(param, Said("model_spec.errors.length", n=MODEL_MAX_LENGTH),
                         f"{len(text)}")
    parser = _Parser(text, param)
    depth = 0
    for kind, tok in parser.tokens:
        if kind == "punct" and tok in "([":
            depth += 1
            if depth > MODEL_MAX_DEPTH:
                raise InputError(param, Said("inputs.nested", n=MODEL_MAX_DEPTH),
                                 Said("errors.deeper"))
        elif kind == "punct" and tok in ")]":
            depth -= 1
    chains = parser.model()
    count = sum(len(chain) for chain in chains)
    if count > MODEL_MAX_LAYERS:
        raise InputError(param, Said("model_spec.errors.layer_count", n=MODEL_MAX_LAYERS),
                         f"{count}")
    return chains
