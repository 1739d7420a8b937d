"""Online recommenders: one request in, the next track out; no HTTP, no simulator."""

from botify.recommenders.base import Recommender, Requests
from botify.recommenders.baselines import RandomRecommender, StickyArtistRecommender, TopPopRecommender
from botify.recommenders.lists import ContextualRecommender, IndexedRecommender
from botify.recommenders.registry import RECOMMENDERS, build_recommender

__all__ = [
    "ContextualRecommender",
    "IndexedRecommender",
    "RECOMMENDERS",
    "RandomRecommender",
    "Recommender",
    "Requests",
    "StickyArtistRecommender",
    "TopPopRecommender",
    "build_recommender",
]
