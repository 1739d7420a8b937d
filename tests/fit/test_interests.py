"""Interest slots: given to a user's session groups in proportion to their sessions."""

from __future__ import annotations

import numpy as np

from botify.fit.interests import dhondt


def test_dhondt_gives_slots_in_proportion_to_sessions() -> None:
    assert dhondt(np.array([6, 3, 1]), 3).tolist() == [2, 1, 0]
    assert dhondt(np.array([5, 5]), 3).tolist() == [2, 1]  # a tie goes to the earlier group
    assert dhondt(np.array([9]), 3).tolist() == [3]
