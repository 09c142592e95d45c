"""``csr.slot_best_edge`` against its definition, on random multigraphs with ties."""

from __future__ import annotations

import numpy as np

from twin.network import csr


def brute_best(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, structure: csr.CSRStructure
) -> list[int]:
    """Per slot: among the edges of its node pair, the least weight, first by position."""
    out = []
    for s in range(structure.n_slots):
        key = structure.slot_key[s]
        edges = [e for e in range(u.size) if u[e] * structure.n_nodes + v[e] == key]
        finite = [e for e in edges if not np.isnan(w[e])]
        pool = finite or edges
        least = min(w[e] for e in pool)
        out.append(next(e for e in pool if w[e] == least or (np.isnan(least))))
    return out


def test_best_edge_is_the_first_of_the_least() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 8))
        m = int(rng.integers(1, 40))
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        w = rng.choice([1.0, 2.0, 3.0, np.inf, np.nan], m)
        structure = csr.build_structure(u, v, n)
        got = csr.slot_best_edge(structure, w)
        assert got.tolist() == brute_best(u, v, w, structure)
        assert np.array_equal(structure.edge_slot[got], np.arange(structure.n_slots))
