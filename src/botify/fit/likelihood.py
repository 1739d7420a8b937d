r"""The likelihood of a logged listening time under the user model's own link, with its rounding.

The user model listens ``time = round(sigmoid(z) · γ^c, 2)`` with ``z = (e_r · v − b) · s``: deterministic given
the parameters, so a likelihood needs a noise. The fit puts a logistic noise of scale ``σ`` on the logit,
``raw = sigmoid(z + σ ε)``, and reads the rounding as interval censoring: a logged time ``y = k/100`` says
``raw · γ^c ∈ [(k − ½)/100, (k + ½)/100)``, so

.. math::

    P(y) = F\\left(\\frac{h(y) − z}{σ}\\right) − F\\left(\\frac{l(y) − z}{σ}\\right),\\quad
    l(y) = \\operatorname{logit}\\frac{y − 0.005}{γ^c},\\ h(y) = \\operatorname{logit}\\frac{y + 0.005}{γ^c}

with ``F`` the logistic CDF, ``l = −∞`` for ``y = 0`` and ``h = +∞`` once ``(y + 0.005)/γ^c ≥ 1``. A time of 0 —
most random tracks — carries only ``z < l(0.005)``: the model's censoring, not a zero of the taste. The world
the fit writes has no noise (``σ → 0`` is the user model); ``σ`` is fitted and reported as a measure of how far
the logs are from that family.
"""

from __future__ import annotations

import torch

__all__ = ["interval_log_likelihood", "logit_bounds"]

_EDGE = 1e-6
_INFINITY = 40.0  # logits beyond ±40 are certain at float64 precision
_LOG_TWO = 0.6931471805599453


def logit_bounds(time: torch.Tensor, discount: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(l, h)``: the logit interval of ``raw`` that rounds to each logged ``time`` at discount ``γ^c``."""
    low = (time - 0.005) / discount
    high = (time + 0.005) / discount
    low_logit = torch.logit(low.clamp(_EDGE, 1 - _EDGE))
    high_logit = torch.logit(high.clamp(_EDGE, 1 - _EDGE))
    low_logit = torch.where(time <= 0.0, torch.full_like(low_logit, -_INFINITY), low_logit)
    high_logit = torch.where(high >= 1.0, torch.full_like(high_logit, _INFINITY), high_logit)
    return low_logit, high_logit


def interval_log_likelihood(z: torch.Tensor, time: torch.Tensor, discount: torch.Tensor,
                            noise: torch.Tensor) -> torch.Tensor:
    """``log P(y)`` per row (see the module docstring): ``log(F(a) − F(b))`` with ``a = (h − z)/σ > b = (l − z)/σ``.

    Computed as ``log F(a) + log(1 − exp(log F(b) − log F(a)))``, which stays finite for narrow intervals.
    """
    low, high = logit_bounds(time, discount)
    upper = torch.nn.functional.logsigmoid((high - z) / noise)
    lower = torch.nn.functional.logsigmoid((low - z) / noise)
    gap = (lower - upper).clamp(max=-1e-7)
    # log(1 − e^gap), each branch on inputs where it is finite (torch.where would pass NaN gradients otherwise)
    near, far = gap.clamp(min=-_LOG_TWO), gap.clamp(max=-_LOG_TWO)
    log1mexp = torch.where(gap > -_LOG_TWO, torch.log(-torch.expm1(near)), torch.log1p(-torch.exp(far)))
    return upper + log1mexp
