"""The segments an experiment's effect is broken down by, declared in the experiment file.

Segments use only what the service and the public catalog know before the treatment acts::

    segments:
      correction: holm        # or bh: Holm (family-wise) or Benjamini-Hochberg (false discovery rate)
      min_effect: 2%          # warn when a segment is too small to detect this effect (80 % power)
      of:
        - {by: first_genre, top: 4}          # the catalog genre of the user's first track in the experiment
        - {by: pre_activity, edges: [1, 3]}  # sessions in the pre-period logs: 0, 1-2, 3 or more
        - {by: returning}                    # new (no pre-period session) or returning

Without a ``segments`` block, ``--segments`` breaks the effect down by ``first_genre`` (top 5), Holm-corrected,
with a minimum effect of 5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botify.errors import ConfigError

__all__ = ["SEGMENT_KINDS", "SegmentPlan", "SegmentSpec"]

SEGMENT_KINDS = ("first_genre", "pre_activity", "returning")
Correction = Literal["holm", "bh"]


@dataclass(frozen=True)
class SegmentSpec:
    """One way of cutting users into segments."""

    by: str
    top: int = 5
    """``first_genre``: the most frequent genres keep their name, the rest are ``other``."""
    edges: tuple[int, ...] = (1, 3)
    """``pre_activity``: the lower edges of the session-count bins after the first (0 .. edges[0]-1, ...)."""

    @property
    def needs_pre_period(self) -> bool:
        """Whether it is read from pre-period logs."""
        return self.by in ("pre_activity", "returning")


@dataclass(frozen=True)
class SegmentPlan:
    """The segment dimensions, the multiplicity correction over all segment rows, and the effect to size for."""

    specs: tuple[SegmentSpec, ...]
    correction: Correction = "holm"
    min_effect: float = 0.05
    """Relative effect (0.05 = 5 %) each segment should be able to detect; smaller segments are flagged."""

    @classmethod
    def default(cls) -> SegmentPlan:
        """``first_genre`` (top 5), Holm, 5 %."""
        return cls((SegmentSpec("first_genre"),))

    @classmethod
    def from_dict(cls, data: Any, source: str = "experiment file") -> SegmentPlan:
        """Validate the ``segments`` block (``None``: the default)."""
        where = f"{source}: segments"
        if data is None:
            return cls.default()
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a mapping with `of` (and optionally `correction`, `min_effect`)")
        unknown = sorted(set(data) - {"of", "correction", "min_effect"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: ['correction', 'min_effect', 'of']")
        correction = data.get("correction", "holm")
        if correction not in ("holm", "bh"):
            raise ConfigError(f"{where}.correction must be 'holm' or 'bh', got {correction!r}")
        items = data.get("of")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.of must be a non-empty list of {{by: {'|'.join(SEGMENT_KINDS)}}}")
        specs = tuple(_spec(item, f"{where}.of[{i}]") for i, item in enumerate(items))
        kinds = [spec.by for spec in specs]
        if len(set(kinds)) != len(kinds):
            raise ConfigError(f"{where}.of: each `by` once (a dimension's segments are named by it), got {kinds}")
        return cls(specs, correction, _fraction(data.get("min_effect", 0.05), f"{where}.min_effect"))


def _fraction(raw: Any, where: str) -> float:
    try:
        value = float(raw.strip().removesuffix("%")) / 100 if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where} must be a fraction (0.05) or a percentage (5%), got {raw!r}") from error
    if isinstance(raw, bool) or not 0 < value < 10:
        raise ConfigError(f"{where} must be a positive effect, got {raw!r}")
    return value


def _spec(item: Any, where: str) -> SegmentSpec:
    if isinstance(item, str):
        item = {"by": item}
    if not isinstance(item, dict) or item.get("by") not in SEGMENT_KINDS:
        raise ConfigError(f"{where}: expected {{by: {'|'.join(SEGMENT_KINDS)}}}, got {item!r}")
    allowed = {"first_genre": {"by", "top"}, "pre_activity": {"by", "edges"}, "returning": {"by"}}[item["by"]]
    extra = sorted(set(item) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra} for `by: {item['by']}`; allowed: {sorted(allowed)}")
    top = item.get("top", 5)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"{where}.top must be an integer >= 1, got {top!r}")
    edges = item.get("edges", [1, 3])
    if (not isinstance(edges, list) or not edges or not all(isinstance(e, int) and not isinstance(e, bool)
                                                             for e in edges)
            or edges[0] < 1 or any(b <= a for a, b in zip(edges, edges[1:], strict=False))):
        raise ConfigError(f"{where}.edges must be increasing integers >= 1, got {edges!r}")
    return SegmentSpec(item["by"], top, tuple(edges))
