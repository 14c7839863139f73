"""Matrix assembly of the direct problem (:mod:`optimizers.direct`): Clarabel's form.

Minimise ``1/2 z'Pz + q'z`` s.t. ``A z + s = b``, ``s`` in a product of cones, with
``z = [w, buy, sell, t, f]`` (``t``: impact epigraph, one per name with ``k_i > 0``;
``f = B'(w - b)``: factor exposures, when risk is used):

* zero cone: ``w - buy + sell = w0``; ``f - B'w = -B'b``;
* non-negative cone: ``lb <= w <= ub`` (every hard per-asset constraint folded in),
  ``buy, sell >= 0``, ``sum(w) <= 1`` and every hard linear row ``lo <= G z <= hi``;
* second-order cones: TE cap ``(te, L'f, sqrt(d)(w - b))``; total risk
  ``(vol, L'(f + B'b), sqrt(d) w)``; factor risk ``(cap, L'f)``;
* power cones ``(t_i, c, buy_i + sell_i)`` with exponent 2/3 (see
  :mod:`optimizers.direct`).

The matrices depend on the universe and the constraint structure only; every
number that changes between solves (limits, alpha, benchmark, start weights) is in
``b`` and ``q`` (:meth:`optimizers.direct.DirectProblem.set_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass

import clarabel
import numpy as np
import scipy.sparse as sp

from constraints import Constraint, FactorRiskShare, ProblemData, TotalRisk, TrackingError
from constraints.errors import ConstraintSpecError
from optimizers.objective import ObjectiveSpec

__all__ = ["DirectMatrices", "DirectBlock", "Value", "RISK_KINDS", "SAME_REL"]

SAME_REL = 1e-12  # a limit's column is a factor's when equal element-wise to this
PER_NAME_BLOCKS = 4  # the non-negative cone starts with lb, ub, buy >= 0, sell >= 0
RISK_KINDS = (TrackingError, TotalRisk, FactorRiskShare)


@dataclass
class Value:
    """Stands in for a cvxpy expression / constraint: ``value`` and ``dual_value``."""

    value: object = None
    dual_value: object = None


@dataclass
class DirectBlock:
    """One hard term of one constraint: its row ranges in the non-negative cone."""

    ci: int
    ti: int
    mode: str = "hard"
    lo_rows: np.ndarray | None = None
    hi_rows: np.ndarray | None = None
    con_lo: Value | None = None
    con_hi: Value | None = None
    risk_row: int | None = None  # first row of the risk cone (risk kinds)


class _Block:
    """A row block as coordinates ``(row, col, val)`` over ``nrows`` rows, full width."""

    __slots__ = ("r", "c", "v", "nrows")

    def __init__(self, r: np.ndarray, c: np.ndarray, v: np.ndarray, nrows: int):
        self.r, self.c, self.v, self.nrows = r, c, v, nrows

    def __neg__(self) -> _Block:
        return _Block(self.r, self.c, -self.v, self.nrows)


class _Rows:
    """Stacks row blocks ``A z <= b`` (``b`` filled at each solve) as coordinates.

    Blocks are never turned into sparse matrices one by one: the coordinates are
    shifted to their rows and the stack becomes one matrix at the end (``csr``), or
    part of one larger matrix (:meth:`coords`)."""

    def __init__(self, nz: int):
        self.nz = nz
        self.blocks: list[_Block] = []
        self.starts: list[int] = []  # each block's first row
        self.count = 0

    def add(self, blk: _Block) -> np.ndarray:
        rows = np.arange(self.count, self.count + blk.nrows)
        self.blocks.append(_Block(blk.r + self.count, blk.c, blk.v, blk.nrows))
        self.starts.append(self.count)
        self.count += blk.nrows
        return rows

    def coords(self, offset: int = 0, first: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates of the blocks from ``first`` on (rows as numbered here + ``offset``)."""
        blocks = self.blocks[first:]
        if not blocks:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0)
        r = np.concatenate([b.r for b in blocks]) + offset
        c = np.concatenate([b.c for b in blocks])
        v = np.concatenate([b.v for b in blocks])
        return r, c, v

    def matrix(self, first: int = 0) -> sp.csr_matrix:
        """The blocks from ``first`` on as one matrix, its rows numbered from 0."""
        start = self.starts[first] if first < len(self.starts) else self.count
        r, c, v = self.coords(-start, first)
        return sp.csr_matrix((v, (r, c)), shape=(self.count - start, self.nz))


def _coords(p) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Coordinates of a sparse or dense block (dense zeros dropped, as ``coo_matrix`` does)."""
    if sp.issparse(p):
        p = p.tocoo()
        return p.row.astype(np.int64), p.col.astype(np.int64), p.data, p.shape[0]
    p = np.atleast_2d(np.asarray(p, dtype=float))
    r, c = np.nonzero(p)
    return r, c, p[r, c], p.shape[0]


class DirectMatrices:
    """Builds the fixed matrices (``A``, cones, ``P`` per unit risk aversion) of the
    direct problem; the base of :class:`~optimizers.direct.DirectProblem`."""

    @staticmethod
    def _impact_index(data: ProblemData, objective: ObjectiveSpec) -> np.ndarray:
        if not objective.impact:
            return np.zeros(0, dtype=int)
        k = data.numeric("impact", "objective impact costs")
        if (k < 0).any():
            raise ConstraintSpecError(
                f"objective impact costs: negative 'impact' for {list(data.ids[k < 0][:10])}"
            )
        return np.flatnonzero(k > 0)

    def _cols(self, W=None, U=None, V=None, T=None, Fm=None, nrows=None) -> _Block:
        """Place per-variable blocks side by side into a full-width row block.

        Kept as the blocks' coordinates shifted to their columns (no zero blocks, no
        ``hstack`` and no sparse matrix per block: the whole matrix is formed once)."""
        n = self.n
        parts = [(W, 0), (U, n), (V, 2 * n), (T, 3 * n), (Fm, self.ifac)]
        r = [np.zeros(0, dtype=np.int64)]
        c = [np.zeros(0, dtype=np.int64)]
        v, rows = [np.zeros(0)], nrows
        for p, off in parts:
            if p is None:
                continue
            pr, pc, pv, rows = _coords(p)
            r.append(pr)
            c.append(pc + off)
            v.append(pv)
        return _Block(np.concatenate(r), np.concatenate(c), np.concatenate(v), rows)

    def _diag(self, values, col0: int) -> _Block:
        """The block ``diag(values)`` over ``n`` rows, its diagonal starting at column ``col0``."""
        i = np.arange(self.n)
        return _Block(i, i + col0, np.broadcast_to(np.asarray(values, float), (self.n,)), self.n)

    def _zero_matrix(self) -> sp.csr_matrix:
        """The zero cone's rows ``w - buy + sell = w0``; ``f - B'w = -B'b``, as CSR filled
        row by row in column order into preallocated arrays: no coordinate sort and few
        temporaries (the ``B'`` block is most of ``A``'s entries, and fresh memory is what
        forming it costs at N = 50,000). Dense zeros of ``B`` are left out."""
        n, K = self.n, self.K if self.use_risk else 0
        B = self.B if K else np.zeros((n, 0))
        nnz_rows = (B != 0).sum(axis=0) if K else np.zeros(0, dtype=np.int64)
        indptr = np.empty(n + K + 1, dtype=np.int64)
        indptr[0] = 0
        indptr[1 : n + 1] = 3 * np.arange(1, n + 1)
        indptr[n + 1 :] = 3 * n + np.cumsum(nnz_rows + 1)
        nnz = int(indptr[-1])
        itype = np.int32 if max(nnz, self.nz) < 2**31 - 1 else np.int64
        indices = np.empty(nnz, dtype=itype)
        data = np.empty(nnz)
        i = np.arange(n, dtype=itype)
        head = indices[: 3 * n].reshape(n, 3)
        head[:, 0], head[:, 1], head[:, 2] = i, i + n, i + 2 * n
        data[: 3 * n].reshape(n, 3)[:] = (1.0, -1.0, 1.0)
        for k in range(K):  # row n + k: -B[:, k] on its nonzeros, then f_k (largest column)
            a, b = indptr[n + k], indptr[n + k + 1]
            col = B[:, k]
            nzk = np.flatnonzero(col) if nnz_rows[k] < n else i
            indices[a : b - 1] = nzk
            np.negative(col[nzk], out=data[a : b - 1])
            indices[b - 1], data[b - 1] = self.ifac + k, 1.0
        return sp.csr_matrix((data, indices, indptr.astype(itype)), shape=(n + K, self.nz))

    @property
    def A_zero(self) -> sp.csr_matrix:
        """The zero cone's rows (formed on first use: only Clarabel reads them)."""
        if self._A_zero is None:
            self._A_zero = self._zero_matrix()
        return self._A_zero

    @property
    def A_nonneg(self) -> sp.csr_matrix:
        """The non-negative cone's rows (formed on first use: the dual method reads only
        the shared rows, :meth:`shared_rows`)."""
        if self._A_nonneg is None:
            self._A_nonneg = self._nonneg.matrix()
        return self._A_nonneg

    def shared_rows(self) -> tuple[np.ndarray, sp.csr_matrix]:
        """The non-negative rows other than the per-name ones (``lb``, ``ub``, ``buy >= 0``,
        ``sell >= 0``: the first :data:`PER_NAME_BLOCKS` blocks) and their matrix, formed
        from those rows' coordinates only."""
        first = self._nonneg.starts[PER_NAME_BLOCKS]
        return np.arange(first, self.n_nonneg), self._nonneg.matrix(PER_NAME_BLOCKS)

    @property
    def A_pow(self) -> sp.csr_matrix:
        """The power cones' rows ``-(t_i, 0, buy_i + sell_i)`` (formed on first use: only
        Clarabel reads them)."""
        if self._A_pow is None:
            m = len(self.impact_idx)
            pw = _Rows(self.nz)
            if m:
                r = np.arange(m)
                k = self.impact_idx
                rr = np.r_[3 * r, 3 * r + 2, 3 * r + 2]
                cc = np.r_[self.it + r, self.ib + k, self.isl + k]
                pw.add(_Block(rr, cc, -np.ones(3 * m), 3 * m))
            self._A_pow = pw.matrix()
        return self._A_pow

    @property
    def P_unit(self) -> sp.csc_matrix:
        """``P`` per unit risk aversion (formed on first use: only Clarabel and PIQP read it)."""
        if self._P_unit is None:
            self._P_unit = self._p_unit(len(self.impact_idx))
        return self._P_unit

    @property
    def A(self) -> sp.csc_matrix:
        """Clarabel's whole constraint matrix, formed on first use.

        The dual method never needs it: it reads the non-negative rows only. The
        zero cone's ``K x N`` block ``B'`` is most of its entries (3 million at
        N = 100,000, 30 factors), so a problem the dual method answers never forms it.
        Stacked as CSR (concatenation) and converted once (a linear pass)."""
        if self._A is None:
            mats = [self.A_zero, self.A_nonneg] + [s for _, s in self.socs] + [self.A_pow]
            self._A = sp.vstack(mats, format="csr").tocsc()
        return self._A

    def _build_static(self, data: ProblemData) -> None:
        n = self.n
        self._A_zero = self._A = self._A_nonneg = self._A_pow = self._P_unit = None
        self._bnnz = None
        self.n_zero = n + self.K if self.use_risk else n
        rows = _Rows(self.nz)
        i = np.arange(n)
        self.r_lb = rows.add(self._diag(-1.0, 0))
        self.r_ub = rows.add(self._diag(1.0, 0))
        self.r_buy = rows.add(self._diag(-1.0, n))
        self.r_sell = rows.add(self._diag(-1.0, 2 * n))
        self.r_budget = rows.add(_Block(np.zeros(n, dtype=np.int64), i, np.ones(n), 1))
        assert len(rows.blocks) == PER_NAME_BLOCKS + 1
        self.blocks: list[DirectBlock] = []
        self.lin_const: dict[tuple[int, int], np.ndarray] = {}
        self.fac_rows: dict[tuple[int, int], np.ndarray] = {}
        for ci, (c, mode) in enumerate(zip(self.constraints, self.modes, strict=True)):
            if mode != "hard" or isinstance(c, RISK_KINDS):
                continue
            for ti, (lin, lim) in enumerate(zip(c.linear(data), c.limits(data), strict=True)):
                fac = self._factor_rows(lin)
                on_fac = fac >= 0
                W = lin.w
                if on_fac.any():
                    W = sp.diags((~on_fac).astype(float)) @ W
                    Fm = sp.coo_matrix(
                        (np.ones(int(on_fac.sum())), (np.flatnonzero(on_fac), fac[on_fac])),
                        shape=(len(fac), self.K),
                    )
                else:
                    Fm = None
                G = self._cols(W=W, U=lin.buy, V=lin.sell, Fm=Fm, nrows=len(fac))
                self.fac_rows[(ci, ti)] = fac
                blk = DirectBlock(ci, ti)
                if np.isfinite(lim.lo).any():
                    blk.lo_rows, blk.con_lo = rows.add(-G), Value()
                if np.isfinite(lim.hi).any():
                    blk.hi_rows, blk.con_hi = rows.add(G), Value()
                self.lin_const[(ci, ti)] = lin.const
                self.blocks.append(blk)
        self._nonneg, self.n_nonneg = rows, rows.count
        self.socs: list[tuple[DirectBlock, sp.csr_matrix]] = []
        for ci, c in enumerate(self.constraints):
            if isinstance(c, RISK_KINDS):
                blk = DirectBlock(ci, 0, con_hi=Value())
                self.blocks.append(blk)
                self.socs.append((blk, self._soc_rows(c).matrix()))
        m = len(self.impact_idx)
        self.off_soc = self.n_zero + rows.count
        off = self.off_soc
        for blk, s in self.socs:
            blk.risk_row = off
            off += s.shape[0]
        self.off_pow = off
        self.n_rows = off + 3 * m
        cones = [clarabel.ZeroConeT(self.n_zero), clarabel.NonnegativeConeT(rows.count)]
        cones += [clarabel.SecondOrderConeT(s.shape[0]) for _, s in self.socs]
        cones += [clarabel.PowerConeT(2.0 / 3.0)] * m
        self.cones = cones

    def _p_unit(self, m: int) -> sp.csc_matrix:
        """``P`` per unit risk aversion: ``D`` on ``w``, ``triu(L L')`` on ``f``, else 0
        (explicit zeros dropped)."""
        if not self.use_risk:
            return sp.csc_matrix((self.nz, self.nz))
        i = np.arange(self.n)
        fr, fc = np.triu_indices(self.K)
        Fq = self.Lt.T @ self.Lt
        r = np.r_[i, self.ifac + fr]
        c = np.r_[i, self.ifac + fc]
        v = np.r_[self.d, Fq[fr, fc]]
        nz = v != 0
        return sp.csc_matrix((v[nz], (r[nz], c[nz])), shape=(self.nz, self.nz))

    def _factor_rows(self, lin) -> np.ndarray:
        """Per row, the factor ``k`` whose exposures equal the row's ``w`` weights, else -1.

        A limit on such a row (a sector or country in a model with 0/1 sector and
        country exposures) is placed on ``f_k + (B'b)_k`` instead of on ``N`` weights,
        which keeps the KKT system sparse. Equal means element by element to
        :data:`SAME_REL` of the larger magnitude (zeros exactly), so the rewritten row
        differs from the configured one by at most ``SAME_REL * sum_i |x_i| w_i``; a
        column that is only close to a factor (a vendor exposure rounded to 4 decimals)
        stays on the weights. Zeros exactly means the same non-zero positions, so only
        factors with as many non-zeros as the row are candidates; each is compared on
        the row's non-zeros (its first few first), never over all ``N`` names.
        """
        rows = len(lin.const)
        out = np.full(rows, -1)
        if not self.K or lin.w is None:
            return out
        W = sp.csr_matrix(lin.w)
        if not W.has_canonical_format:  # one entry per position (the memo's is read-only)
            W = W.copy()
            W.sum_duplicates()
        if self._bnnz is None:  # non-zeros per factor column, once
            self._bnnz = np.count_nonzero(self.B, axis=0)
        for r in range(rows):
            x = W.data[W.indptr[r] : W.indptr[r + 1]]
            idx = W.indices[W.indptr[r] : W.indptr[r + 1]][x != 0]
            x = x[x != 0]
            for k in np.flatnonzero(self._bnnz == len(idx)):
                if _same(x[:8], self.B[idx[:8], k]) and _same(x, self.B[idx, k]):
                    out[r] = k
                    break
        return out

    def _soc_rows(self, c: Constraint) -> _Rows:
        """Rows ``-(0; L'f; sqrt(d) w)`` (``-(0; L'f)`` for the factor-risk cap)."""
        rows = _Rows(self.nz)
        e = np.zeros(0, dtype=np.int64)
        rows.add(_Block(e, e, np.zeros(0), 1))
        rows.add(self._cols(Fm=-self.Lt))
        if not isinstance(c, FactorRiskShare):
            rows.add(self._diag(-np.sqrt(self.d), 0))
        return rows


def _same(x: np.ndarray, col: np.ndarray) -> bool:
    """Element by element equal to :data:`SAME_REL` of the larger magnitude."""
    return bool((np.abs(x - col) <= SAME_REL * np.maximum(np.abs(x), np.abs(col))).all())


class _Ctx:
    """Holds the solution vectors like a :class:`~constraints.ProblemContext`."""

    def __init__(self):
        self.w, self.buy, self.sell = Value(), Value(), Value()


class _Problem:
    """Holds the optimal utility like ``cvxpy.Problem.value``."""

    value: float | None = None
