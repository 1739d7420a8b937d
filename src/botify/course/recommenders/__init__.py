"""The course's recommenders package: its ``Recommender`` base, ``Random`` and ``TopPop``.

A homework module served by the lab's ``course`` recommender is loaded as a module of this package, so the
course's relative imports (``from .recommender import Recommender``, ``from .random import Random``,
``from .toppop import TopPop``) work as written.
"""
