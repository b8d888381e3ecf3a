"""Shared test set-up: Keras runs on the torch backend (the CPU build the test extra installs)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
