"""Named random streams from one scenario seed.

``stream(seed, "ev", "sessions")`` is a Generator seeded by
``SeedSequence(seed, spawn_key=(crc32("ev"), crc32("sessions")))``: each name path is its own
independent stream, so adding a stream never changes the draws of another (common random numbers
across alternatives that share the seed).
"""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *names: str) -> np.random.Generator:
    """Independent generator for the stream ``names`` of scenario ``seed``."""
    if not names:
        raise ValueError("stream() needs at least one name")
    key = tuple(zlib.crc32(n.encode()) for n in names)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))
