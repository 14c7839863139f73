"""The dual method's data built from sparse entries, against slow dense references.

* :class:`~optimizers.dual_data.DualStatic` splits the shared rows by column range and
  keeps only the rows on the names for the Newton system; every block equals the dense
  slice of ``G`` (null-space rewrite included) to 1e-12, the rows left out are zero
  there, and products with the rotated exposures equal ``B U_r`` formed densely;
* the single-name rows found over all entries at once equal a row-by-row loop (exactly);
* the factor-row match on the row's non-zeros equals the element-by-element comparison
  over all ``N`` names (exactly), for equal, nearly equal and different columns;
* with rows left out (infinite limits) the Hessian still matches finite differences.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from optimizers.direct_build import SAME_REL, DirectMatrices
from optimizers.direct_dual import DualPath
from optimizers.dual_data import EIG_TOL, DualStatic


def _same(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(b).max(initial=0)))


def _random_case(rng):
    n, K, R = int(rng.integers(2, 25)), int(rng.integers(1, 6)), int(rng.integers(1, 9))
    B = rng.normal(size=(n, K))
    A = rng.normal(size=(K, K))
    F = A @ A.T
    kind = rng.integers(3)
    if kind == 1:  # diagonal, some factors without variance
        F = np.diag(rng.uniform(0, 1, K) * (rng.random(K) < 0.7))
    elif kind == 2 and K > 1:  # singular: one direction without variance
        v = rng.normal(size=K)
        F = F - np.outer(F @ v, F @ v) / (v @ F @ v)
    M = (rng.random((R, 3 * n + K)) < 0.3) * rng.normal(size=(R, 3 * n + K))
    G = sp.csr_matrix(M)
    if G.nnz:  # explicit zeros are entries too
        G.data[rng.random(G.nnz) < 0.1] = 0.0
    return B, F, rng.uniform(0.01, 0.1, n), G


@pytest.mark.parametrize("seed", range(4))
def test_dual_static_equals_dense_slices(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        B, F, d, G = _random_case(rng)
        n, K = B.shape
        S = DualStatic(B, F, d, G)
        vals, U = np.linalg.eigh(F)
        pos = vals > EIG_TOL * max(vals.max(), 1e-300)
        Ur, U0 = U[:, pos], U[:, ~pos]
        D = G.toarray()
        Gf = D[:, 3 * n :]
        W0 = (Gf @ U0) @ (U0.T @ B.T) if U0.shape[1] and Gf.any() else 0.0
        Gw = D[:, :n] + W0
        _same(S.Gw.toarray(), Gw)
        _same(S.Gb.toarray(), D[:, n : 2 * n])
        _same(S.Gs.toarray(), D[:, 2 * n : 3 * n])
        # F's eigenbasis is not unique: compare basis-free products
        _same(S.Gf @ np.diag(S.finv) @ S.Gf.T, Gf @ Ur @ np.diag(1 / vals[pos]) @ Ur.T @ Gf.T)
        buy, sell = (Gw + D[:, n : 2 * n]).T, (Gw - D[:, 2 * n : 3 * n]).T
        _same(S.Ebuy, buy[:, S.live])
        _same(S.Esell, sell[:, S.live])
        dead = np.setdiff1d(np.arange(G.shape[0]), S.live)
        assert not buy[:, dead].any() and not sell[:, dead].any()
        Br = S.B  # B U_r in the method's own basis
        _same(Br @ np.diag(S.fv) @ Br.T, B @ Ur @ np.diag(vals[pos]) @ Ur.T @ B.T)
        y, x = rng.normal(size=S.K), rng.normal(size=n)
        _same(S.bmul(y), Br @ y)
        _same(S.btmul(x), Br.T @ x)
        idx = rng.integers(n, size=3)
        _same(S.brows(idx), Br[idx])


def _single_name_reference(n, G):
    out = np.full(G.shape[0], -1)
    for r in range(G.shape[0]):
        cols = G.indices[G.indptr[r] : G.indptr[r + 1]]
        vals = G.data[G.indptr[r] : G.indptr[r + 1]]
        cols, vals = cols[vals != 0], vals[vals != 0]
        if not len(cols) or (cols < n).any() or (cols >= 3 * n).any() or (vals < 0).any():
            continue
        names = np.unique(cols % n)
        if len(names) == 1:
            out[r] = names[0]
    return out


class _Path(DualPath):
    def __init__(self, n):
        self.n = n


def test_single_name_rows_equal_a_row_loop():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n, R = int(rng.integers(1, 12)), int(rng.integers(1, 15))
        M = (rng.random((R, 3 * n + 4)) < 0.3) * rng.choice([-1.0, 0.0, 1.0, 2.0], (R, 3 * n + 4))
        for r in np.flatnonzero(rng.random(R) < 0.5):  # rows on one name's buy / sell
            i = rng.integers(n)
            M[r] = 0.0
            M[r, n + i], M[r, 2 * n + i] = rng.choice([0.0, 1.0, 2.0]), rng.choice([0.0, 0.5, -1])
            if rng.random() < 0.2:
                M[r, rng.integers(3 * n + 4)] = 1.0
        G = sp.csr_matrix(M)
        if G.nnz:
            G.data[rng.random(G.nnz) < 0.2] = 0.0
        np.testing.assert_array_equal(_Path(n)._single_name_rows(G), _single_name_reference(n, G))


class _Lin:
    def __init__(self, w):
        self.w, self.const = w, np.zeros(w.shape[0])


def _factor_reference(B, W):
    out = np.full(W.shape[0], -1)
    for r in range(W.shape[0]):
        x = W[r]
        for k in range(B.shape[1]):
            col = B[:, k]
            if (np.abs(x - col) <= SAME_REL * np.maximum(np.abs(x), np.abs(col))).all():
                out[r] = k
                break
    return out


def test_factor_rows_equal_the_dense_comparison():
    rng = np.random.default_rng(2)
    for _ in range(200):
        n, K = int(rng.integers(3, 40)), int(rng.integers(1, 6))
        B = rng.normal(size=(n, K)) * (rng.random((n, K)) < 0.5)
        B[:, 0] = rng.integers(0, 2, n)  # a 0/1 column, as a sector's
        rows = []
        for _ in range(int(rng.integers(1, 8))):
            x = B[:, rng.integers(K)].copy()
            change = rng.integers(5)
            if change == 1:
                x *= 1.0 + 1e-14  # within SAME_REL: equal
            elif change == 2:
                x[rng.integers(n)] += 1e-6  # a rounded vendor exposure: not equal
            elif change == 3:
                x[rng.integers(n)] = 0.0  # a zero where the column may not have one
            elif change == 4:
                x = rng.normal(size=n)
            rows.append(x)
        W = np.array(rows)
        m = DirectMatrices.__new__(DirectMatrices)
        m.K, m.B, m._bnnz = K, B, None
        got = m._factor_rows(_Lin(sp.csr_matrix(W)))
        np.testing.assert_array_equal(got, _factor_reference(B, W))


def test_rows_left_out_keep_the_hessian_exact():
    """Rows with an infinite limit are left out (``keep``): the kept rows on the names are
    renumbered, and the generalised Hessian still matches central finite differences of
    the gradient (as in ``test_dual.py``, rtol 1e-4)."""
    from optimizers.dual import DualData, _Point
    from tests.optimizers.test_dual import small_problem

    full = small_problem(5)
    rng = np.random.default_rng(5)
    keep = rng.random(full.R) < 0.6
    keep[full.static.live[0]] = False  # a row on the names goes too
    keep[full.static.live[-1]] = True
    P = DualData(
        full.static, full.alpha, full.b, full.w0, full.lb, full.ub, full.lam, full.cb,
        full.cs, full.k, full.h[keep], full.te, keep=keep, vol=full.vol,
    )  # fmt: skip
    assert P.R == keep.sum() and len(P.erows) < len(full.static.live)
    v = np.r_[rng.normal(0, 1e-3, P.K), rng.uniform(0, 1e-3, P.p - P.K)]
    pt = _Point(P, v)
    assert pt.ok and len(pt.free)
    eps = 1e-7
    fd = np.empty((P.p, P.p))
    for j in range(P.p):
        e = np.zeros(P.p)
        e[j] = eps
        fd[:, j] = (_Point(P, v + e).grad - _Point(P, v - e).grad) / (2 * eps)
    H = pt.hessian(P)
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-6 * np.abs(H).max())
