"""gan-optimum and gan-value from Goodfellow et al.'s formulas (NumPy), and each named mistake."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import reference


def _dist(values: list[float], normalize: bool) -> np.ndarray:
    a = np.array(values, dtype=float)
    return a / a.sum() if normalize else a


def _xlogy(x: np.ndarray, y: np.ndarray) -> float:
    """sum x log y over the entries with x > 0."""
    nz = x > 0
    return float(np.sum(x[nz] * np.log(y[nz])))


@reference("gan-optimum")
def gan_optimum(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    pd = _dist(params["p_data"], params["normalize"])
    pg = _dist(params["p_g"], params["normalize"])
    total = pd + pg
    safe = np.where(total > 0, total, 1.0)
    d = np.where(total > 0, pd / safe, 0.5)
    if mistake == "d-star-swapped":
        d = np.where(total > 0, pg / safe, 0.5)
    c_g = _xlogy(pd, d) + _xlogy(pg, 1 - d)
    m = total / 2
    jsd = (_xlogy(pd, pd / np.where(m > 0, m, 1.0)) + _xlogy(pg, pg / np.where(m > 0, m, 1.0))) / 2
    minimum = -np.log(4.0)
    scale = (np.log(2.0) if mistake == "log-base-2" else np.log(10.0)
             if mistake == "log-base-10" else 1.0)
    factor = 1 if mistake == "jsd-factor-lost" else 2
    if mistake == "jsd-factor-lost":  # -log 4 + JSD, the factor 2 lost
        c_g = minimum + jsd
    return {"D_star": d.tolist(), "C_G": c_g / scale, "jsd": jsd / scale,
            "C_G_minimum": (-minimum if mistake == "minimum-sign" else minimum) / scale,
            "gap": factor * jsd / scale}


@reference("gan-value")
def gan_value(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    real = np.array(params["d_real"], dtype=float)
    fake = np.array(params["d_fake"], dtype=float)
    average = np.sum if mistake == "sum-not-mean" else np.mean
    log = np.log10 if mistake == "log-base-10" else np.log
    value = float(average(log(real)) + average(log(1 - fake)))
    if mistake == "pooled-mean":  # one mean over the real and generated samples stacked
        value = float(np.mean(np.concatenate([log(real), log(1 - fake)])))
    minimax = float(average(log(1 - fake)))
    nonsaturating = float(-average(log(fake)))
    if mistake == "loss-g-sign":
        nonsaturating = -nonsaturating
    grad_mm, grad_ns = (-fake).tolist(), (fake - 1).tolist()
    if mistake == "saturating-generator":
        minimax, nonsaturating = nonsaturating, minimax
        grad_mm, grad_ns = grad_ns, grad_mm
    return {"V": value, "loss_D": value if mistake == "loss-d-sign" else -value,
            "loss_G_minimax": minimax,
            "loss_G_nonsaturating": nonsaturating, "grad_logit_minimax": grad_mm,
            "grad_logit_nonsaturating": grad_ns}
