"""The fit's likelihood: a proper distribution over the logged times, centred on the model's own answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from botify.fit.likelihood import interval_log_likelihood


class TestIntervalLikelihood:
    @pytest.mark.parametrize(("z", "discount", "noise"), [(-3.0, 1.0, 0.5), (0.4, 0.8, 1.0), (6.0, 0.64, 0.2)])
    def test_the_101_possible_times_sum_to_one(self, z: float, discount: float, noise: float) -> None:
        times = torch.arange(101, dtype=torch.float64) / 100
        possible = times <= round(discount, 2) + 1e-9
        log_p = interval_log_likelihood(torch.full((101,), z, dtype=torch.float64), times,
                                        torch.full((101,), discount, dtype=torch.float64),
                                        torch.tensor(noise, dtype=torch.float64))
        assert float(torch.exp(log_p[possible]).sum()) == pytest.approx(1.0, abs=1e-4)

    def test_a_small_noise_puts_the_mass_on_the_user_models_own_answer(self) -> None:
        z, discount = 0.3, 0.8
        answer = round(1 / (1 + np.exp(-z)) * discount, 2)
        times = torch.arange(81, dtype=torch.float64) / 100
        log_p = interval_log_likelihood(torch.full((81,), z, dtype=torch.float64), times,
                                        torch.full((81,), discount, dtype=torch.float64),
                                        torch.tensor(0.001, dtype=torch.float64))
        assert float(times[int(torch.argmax(log_p))]) == pytest.approx(answer)
        assert float(torch.exp(log_p.max())) > 0.9

