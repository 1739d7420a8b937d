"""Experiments: the reference assignment rule, bit for bit, and experiment-file validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from botify.errors import ConfigError
from botify.experiments import Experiment, ExperimentPlan, arm_name, assign_arm, load_experiments


def murmur3_32(data: bytes, seed: int) -> int:
    """Independent pure-Python MurmurHash3 x86_32, to check mmh3 and our salt handling."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    tail_start = len(data) - len(data) % 4
    for i in range(0, tail_start, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = data[tail_start:]
    for i, byte in enumerate(tail):
        k |= byte << (8 * i)
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


class TestAssignment:
    def test_known_murmur3_vectors(self) -> None:
        assert murmur3_32(b"", 0) == 0
        assert murmur3_32(b"hello", 0) == 613153351
        assert murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747B28C) == 0x2FA826CD

    @pytest.mark.parametrize("name", ["AA", "HW", "STICKY", "B", "CALIBRATION"])
    def test_matches_the_reference_rule(self, name: str) -> None:
        salt = signed(murmur3_32(name.encode(), 0))
        for n_arms in (2, 3, 7):
            experiment = Experiment(name, tuple(ExperimentPlan.single(name, ["random"] * n_arms).routing.arms))
            for user in (0, 1, 17, 9999, 123456):
                expected = murmur3_32(str(user).encode(), salt & 0xFFFFFFFF) % n_arms
                assert experiment.assign(user) == expected == assign_arm(name, user, n_arms)

    def test_pinned_vectors(self) -> None:
        # Negative salt (mmh3.hash("B") < 0) and positive salt ("AA"); values from the reference rule.
        assert [assign_arm("B", u, 2) for u in range(8)] == [
            murmur3_32(str(u).encode(), (-861508982) & 0xFFFFFFFF) % 2 for u in range(8)
        ]
        assert assign_arm("EXP", 123, 1_000_000_007) == 1246358008 % 1_000_000_007

    def test_assign_many_matches_assign(self) -> None:
        experiment = ExperimentPlan.single("X", ["random", "toppop", "sticky_artist"]).routing
        users = [5, 1, 5, 99]
        assert experiment.assign_many(users).tolist() == [experiment.assign(u) for u in users]

    def test_arm_names(self) -> None:
        assert [arm_name(i) for i in range(3)] == ["C", "T1", "T2"]


class TestExperimentFile:
    def test_loads_a_valid_file(self, tmp_path: Path) -> None:
        path = tmp_path / "e.yml"
        path.write_text("seed: 3\nexperiments:\n  - name: E\n"
                        "    arms: [random, {recommender: toppop, params: {k: 5}}]\n")
        plan = load_experiments(path)
        assert plan.seed == 3 and plan.routing.arms[1].params == {"k": 5} and plan.routing.arms[1].label == "T1"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("experiments: []", "`experiments` must be a non-empty list"),
            ("experiments:\n  - arms: [random]", "needs a non-empty string `name`"),
            ("experiments:\n  - name: E\n    arms: [{params: {}}]", "needs a `recommender` name"),
            ("seed: -2\nexperiments:\n  - name: E\n    arms: [random]", "`seed` must be a non-negative integer"),
            ("bogus: 1\nexperiments: []", r"unknown key\(s\) \['bogus'\]"),
            ("experiments: [", "not valid YAML"),
        ],
    )
    def test_rejects_bad_files(self, tmp_path: Path, text: str, message: str) -> None:
        path = tmp_path / "e.yml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_experiments(path)
