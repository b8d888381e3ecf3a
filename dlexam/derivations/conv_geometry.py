"""The arithmetic of a convolution or pooling window along one axis, shared by the topics that
size layers (``conv-arithmetic``, ``param-count``).

Along one axis an input of ``n`` positions, padded with ``before`` and ``after`` zeros, read by
a kernel of ``k`` taps ``d`` apart (dilation; the window spans ``d (k - 1) + 1`` positions) moved
``s`` positions at a time, gives ``floor((n + before + after - d (k - 1) - 1) / s) + 1``
outputs (Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", 2016).

``same`` padding follows TensorFlow (and so Keras, and PyTorch's ``padding='same'``, which
allows stride 1 only): the output has ``ceil(n / s)`` positions; the padding that gives them is
``max((ceil(n / s) - 1) s + d (k - 1) + 1 - n, 0)`` in all, ``floor`` of half of it before
(top/left) and the rest, one more when the total is odd, after (bottom/right).

A unit's receptive field grows as the layers stack: with ``r`` and ``j`` the receptive field
and the jump (the distance between neighbouring units, in input positions) of the layer below,
a window of ``k`` taps ``d`` apart moved by ``s`` gives ``r + d (k - 1) j`` and ``j s``
(Araujo, Norris and Sim, "Computing receptive fields of convolutional neural networks",
Distill, 2019).
"""

from __future__ import annotations

from dataclasses import dataclass


def span(kernel: int, dilation: int = 1) -> int:
    """The positions a kernel of ``kernel`` taps ``dilation`` apart covers: d (k - 1) + 1."""
    return dilation * (kernel - 1) + 1


def output_length(size: int, kernel: int, stride: int = 1, before: int = 0, after: int = 0,
                  dilation: int = 1) -> int:
    """The outputs along one axis: floor((n + before + after - d (k - 1) - 1) / s) + 1 (0 or
    less when the window does not fit the padded input)."""
    return (size + before + after - span(kernel, dilation)) // stride + 1


@dataclass(frozen=True)
class Same:
    """TensorFlow's ``same`` padding along one axis.

    Attributes:
        output: ceil(n / s), the outputs it keeps.
        total: the zeros added in all.
        before: floor(total / 2), on the top or the left.
        after: total - before, on the bottom or the right (the extra one when total is odd).
    """

    output: int
    total: int
    before: int
    after: int


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> Same:
    """TensorFlow's ``same`` padding of an axis of ``size`` positions."""
    output = -(-size // stride)
    total = max((output - 1) * stride + span(kernel, dilation) - size, 0)
    return Same(output, total, total // 2, total - total // 2)


def grow(field: int, jump: int, kernel: int, stride: int = 1, dilation: int = 1
         ) -> tuple[int, int]:
    """The receptive field and the jump after a window on a layer with ``field`` and ``jump``."""
    return field + (span(kernel, dilation) - 1) * jump, jump * stride
