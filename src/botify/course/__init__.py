"""The course's objects, with the course's behaviour, so that a student's homework runs in the lab unchanged.

- ``store``: the part of a Redis connection the course's recommenders use (``get``, ``set``, ``randomkey``…),
  in-process or on a real Redis;
- ``track``: the course's ``Track`` and ``Catalog`` (``from_bytes``/``to_bytes``, ``upload_*``);
- ``recommenders``: the course's ``Recommender`` base, ``Random`` and ``TopPop`` — a homework file beside an
  experiment file is loaded as a module of this package, so its ``from .recommender import Recommender`` and
  ``from .random import Random`` resolve here;
- ``files``: the course's precomputed files (``recommendations_*.json``, the per-track files, ``top_tracks.json``)
  read with file:line errors, and written back.

The lab serves such a class through the ``course`` recommender (``botify.recommenders.course``).
"""
