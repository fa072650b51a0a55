"""Right-angle rotations of an image (not of a kernel): the second formulation of rotation
invariance in the tests (the filters rotate their kernels instead)."""
from __future__ import annotations

import numpy as np


def image_rotations(ndim_filtered: int):
    """Pairs (rotate, unrotate) of functions on (z, y, x) arrays: the 24 rotations of the
    cube (3-D), or the 4 in-plane rotations about z (2-D), found by composing np.rot90 and
    keeping the distinct ones."""
    planes = [(0, 1), (0, 2), (1, 2)] if ndim_filtered == 3 else [(1, 2)]
    probe = np.arange(4 ** 3, dtype=float).reshape(4, 4, 4) + np.random.default_rng(0).random((4, 4, 4))
    found: dict[bytes, list] = {}
    frontier = [[]]
    while frontier:
        nxt = []
        for seq in frontier:
            for p in planes:
                s = seq + [p]
                a = probe
                for q in s:
                    a = np.rot90(a, 1, axes=q)
                key = a.tobytes()
                if key not in found:
                    found[key] = s
                    nxt.append(s)
        frontier = nxt
    out = []
    for seq in found.values():
        def rotate(a, seq=seq):
            for q in seq:
                a = np.rot90(a, 1, axes=q)
            return a

        def unrotate(a, seq=seq):
            for q in reversed(seq):
                a = np.rot90(a, -1, axes=q)
            return a
        out.append((rotate, unrotate))
    return out
