"""The dual method's problem data (:mod:`optimizers.dual`): fixed per universe and per solve.

:class:`DualStatic` holds the risk model (rotated to the factor covariance's
eigenbasis) and the shared rows' matrices, built once per universe;
:class:`DualData` holds one solve's vectors (alpha, bounds, costs, limits, caps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["DualData", "DualStatic", "EIG_TOL"]

EIG_TOL = 1e-12  # factor-covariance eigenvalues below this share of the largest are zero


def _is_diagonal(F: np.ndarray) -> bool:
    """Whether ``F`` has no off-diagonal entry (then it is its own eigen-decomposition)."""
    return not np.count_nonzero(F - np.diag(np.diagonal(F)))


_FIELDS = (
    "static",
    "alpha",
    "b",
    "w0",
    "lb",
    "ub",
    "lam",
    "cb",
    "cs",
    "k",
    "h",
    "te",
    "keep",
    "vol",
    "Btb",
)


def _split_columns(G, n: int, K: int):
    """``G``'s column blocks ``[w | buy | sell | f]`` as ``Gw, Gb, Gs`` (CSR, ``R x N``)
    and ``Gf`` (dense, ``R x K``), by masks over its entries (no column slicing)."""
    G = sp.csr_matrix(G)
    G.sum_duplicates()
    R = G.shape[0]
    rows = np.repeat(np.arange(R), np.diff(G.indptr))
    cols, vals = G.indices, G.data
    part = (cols >= n).astype(np.int8) + (cols >= 2 * n) + (cols >= 3 * n)
    out = []
    for j in range(3):
        m = part == j
        indptr = np.zeros(R + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[m], minlength=R), out=indptr[1:])
        out.append(sp.csr_matrix((vals[m], cols[m] - j * n, indptr), shape=(R, n)))
    m = part == 3
    Gf = np.zeros((R, K))
    Gf[rows[m], cols[m] - 3 * n] = vals[m]
    return (*out, Gf)


def _name_coefficients(Gw, Gb, Gs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows with an entry on the names (``live``) and their per-name coefficients
    when buying, ``(Gw + Gb)'``, and selling, ``(Gw - Gs)'`` (``N x L``, dense)."""
    counts = np.diff(Gw.indptr) + np.diff(Gb.indptr) + np.diff(Gs.indptr)
    live = np.flatnonzero(counts)
    Ebuy = np.ascontiguousarray((Gw + Gb)[live].toarray().T)
    Esell = np.ascontiguousarray((Gw - Gs)[live].toarray().T)
    return live, Ebuy, Esell


class DualStatic:
    """The parts fixed per universe: risk model and shared-row matrices (built once).

    ``G`` holds the shared rows ``G [w; buy; sell; f] <= h`` as one sparse matrix with
    ``3 N + K`` columns. It is split by column range into ``Gw``, ``Gb``, ``Gs``
    (sparse, ``R x N``) and ``Gf`` (dense, ``R x K``) in one pass over its entries;
    the transposes the dual point needs (``GwT`` ...) are views, never copies.

    Only the rows with an entry on the names (budget, cash band, attribute and
    turnover rows; ``live``) reach the per-name rows of the Newton system: a limit
    placed on a factor has none. ``Ebuy`` / ``Esell`` (``N x L``, dense) hold those
    ``L`` rows' per-name coefficients when buying (``Gw + Gb``) and selling (``Gw -
    Gs``), so nothing ``N x R`` is formed (most of the ``R`` rows are sector and
    country limits on factors).

    A singular factor covariance (a fundamental model whose country factors sum to
    zero, say) is handled exactly: with ``F = U_r L U_r'`` (eigenvalues at most
    :data:`EIG_TOL` of the largest count as zero), risk sees only ``f_r = U_r' f``, so
    the problem is written in ``f_r`` (``B`` becomes ``B U_r``, ``F`` becomes ``L``)
    and the null-space part of a factor row, ``Gf U_0 U_0' B' (w - b)``, moves onto
    the row's weights (``W0``) and limit (``W0 b``, :meth:`row_shift`).
    """

    def __init__(self, B: np.ndarray, F: np.ndarray, d: np.ndarray, G: sp.csr_matrix):
        n = B.shape[0]
        diagonal = _is_diagonal(F)  # (Ledoit-Wolf, OAS, ...): its own eigenbasis
        vals, U = (np.diagonal(F).copy(), None) if diagonal else np.linalg.eigh(F)
        pos = vals > EIG_TOL * max(float(vals.max(initial=0.0)), 1e-300)
        if U is None:  # U = I: columns are picked, not rotated
            U = np.eye(len(vals))
        Ur, U0 = U[:, pos], U[:, ~pos]
        # B U_r is never formed (an N x K copy and N K^2 flops): products with it go
        # through K-vectors (bmul, btmul); U_r = None when it is the identity
        self.B0 = B
        self.Ur = None if diagonal and pos.all() else Ur
        self.K = int(pos.sum())
        self.fv = vals[pos]  # F's eigenvalues: the factor covariance is diag(fv) here
        self.F = np.diag(vals[pos])
        self.Finv = np.diag(1.0 / vals[pos])
        self.finv = 1.0 / vals[pos]
        self.d = d
        self.Gw, self.Gb, self.Gs, Gf = _split_columns(G, n, F.shape[0])
        self.Gf = Gf @ Ur
        self.W0 = (Gf @ U0) @ (U0.T @ B.T) if U0.shape[1] and Gf.any() else None
        if self.W0 is not None:
            self.Gw = sp.csr_matrix(self.Gw + self.W0)
        self.live, self.Ebuy, self.Esell = _name_coefficients(self.Gw, self.Gb, self.Gs)
        self.GwT, self.GbT, self.GsT = self.Gw.T, self.Gb.T, self.Gs.T

    @property
    def B(self) -> np.ndarray:
        """The exposures in ``F``'s eigenbasis, ``B U_r`` (``N x K``; formed on each call)."""
        return self.B0 if self.Ur is None else self.B0 @ self.Ur

    def bmul(self, y: np.ndarray) -> np.ndarray:
        """``B U_r y`` (``N``), through the ``K``-vector ``U_r y``."""
        return self.B0 @ (y if self.Ur is None else self.Ur @ y)

    def btmul(self, x: np.ndarray) -> np.ndarray:
        """``U_r' B' x`` (``K``)."""
        return self.rotate(self.B0.T @ x)

    def rotate(self, x: np.ndarray) -> np.ndarray:
        """``U_r' x`` of a ``B' (.)`` product (``btmul(v) = rotate(B' v)``)."""
        return x if self.Ur is None else self.Ur.T @ x

    def brows(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` of ``B U_r``."""
        return self.B0[idx] if self.Ur is None else self.B0[idx] @ self.Ur

    def row_shift(self, b: np.ndarray) -> np.ndarray | float:
        """What the shared rows' limits gain from the null-space rewrite (``W0 b``)."""
        return 0.0 if self.W0 is None else self.W0 @ b

    @staticmethod
    def eligible(F: np.ndarray, d: np.ndarray) -> bool:
        """Non-negative specific variances and a positive semidefinite factor covariance
        (zero specific variances are regularised per solve, see :class:`DualData`)."""
        if not (d >= 0).all():
            return False
        if not F.size:
            vals = np.zeros(1)
        else:
            vals = np.diagonal(F) if _is_diagonal(F) else np.linalg.eigvalsh(F)
        return bool(vals.min() >= -EIG_TOL * max(float(vals.max()), 1e-300))


@dataclass
class DualData:
    """One solve's data: the static part, this solve's vectors, and the rows kept.

    Minimise ``-alpha'w + lam (f'Ff + sum d (w-b)^2) + sum cb x+ + cs x- + k |x|^1.5``
    subject to ``f = B'(w - b)``, ``lb <= w <= ub``, the kept rows of
    ``Gw w + Gb x+ + Gs x- + Gf f <= h`` and ``f'Ff + sum d (w-b)^2 <= te^2`` when
    ``te`` is set, and ``(f + B'b)'F(f + B'b) + sum d w^2 <= vol^2`` (total risk) when
    ``vol`` is set. ``keep`` selects the static rows used (rows with an infinite limit
    are dropped); ``h`` holds the kept rows' limits; ``erows`` the positions, among the
    kept rows, of the rows on the names (the columns of ``Ebuy`` / ``Esell``). ``Btb``
    (optional) is ``B'b`` when the caller has formed it already.

    ``reg`` (optional, per name, >= 0) is added to ``d`` for the Newton iterations: a
    name with zero specific variance and no impact has a linear Lagrangian, whose
    minimiser jumps between its bounds, so the dual has no curvature there. The answer
    is still certified against the problem **without** ``reg`` (:meth:`original`): its
    primal objective and constraints use the true ``d`` (the TE cap only loosens), and
    the dual bound is the exact Lagrangian minimum of the unregularised problem at the
    final multipliers (a linear name's minimiser is a bound), so the certified gap is
    the true one.
    """

    static: DualStatic
    alpha: np.ndarray
    b: np.ndarray
    w0: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    lam: float
    cb: np.ndarray
    cs: np.ndarray
    k: np.ndarray
    h: np.ndarray
    te: float | None
    keep: np.ndarray | None = None
    reg: np.ndarray | None = None
    vol: float | None = None
    Btb: np.ndarray | None = None  # B'b when the caller has it (else formed here)

    def __post_init__(self):
        S = self.static
        self.F, self.Finv, self.finv, self.d = S.F, S.Finv, S.finv, S.d
        self.bmul, self.btmul, self.brows = S.bmul, S.btmul, S.brows
        self.fv = S.fv
        if self.reg is not None:
            self.d = S.d + self.reg
        if self.keep is None or self.keep.all():
            self.Gw, self.Gb, self.Gs, self.Gf = S.Gw, S.Gb, S.Gs, S.Gf
            self.Ebuy, self.Esell, self.erows = S.Ebuy, S.Esell, S.live
            self.GwT, self.GbT, self.GsT = S.GwT, S.GbT, S.GsT
        else:
            k = self.keep
            self.Gw, self.Gb, self.Gs, self.Gf = S.Gw[k], S.Gb[k], S.Gs[k], S.Gf[k]
            kept = k[S.live]  # the live rows kept, renumbered among the kept rows
            self.erows = (np.cumsum(k) - 1)[S.live[kept]]
            self.Ebuy, self.Esell = S.Ebuy[:, kept], S.Esell[:, kept]
            self.GwT, self.GbT, self.GsT = self.Gw.T, self.Gb.T, self.Gs.T
        self.Bb = S.btmul(self.b) if self.Btb is None else S.rotate(self.Btb)
        # per-solve vectors the dual points reuse: w0 - b and the trade bounds
        self.dw0, self.xlo, self.xhi = self.w0 - self.b, self.lb - self.w0, self.ub - self.w0
        self.K, self.R = S.K, self.Gw.shape[0]
        self.imu = self.K + self.R if self.te is not None else None
        self.inu = self.K + self.R + (self.te is not None) if self.vol is not None else None
        self.p = self.K + self.R + (self.te is not None) + (self.vol is not None)
        self.lo = np.r_[np.full(self.K, -np.inf), np.zeros(self.p - self.K)]

    def original(self) -> DualData:
        """This problem without the regularisation ``reg`` (itself when there is none)."""
        if self.reg is None:
            return self
        return DualData(**{**{k: getattr(self, k) for k in _FIELDS}, "reg": None})
