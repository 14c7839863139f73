"""The direct problem's path to the certified dual Newton method (:mod:`optimizers.dual`).

:class:`DualPath` takes the direct problem's matrices and this solve's vectors into the
dual method's form (:class:`~optimizers.dual.DualData`), runs it warm-started from the
last solve's multipliers, and attaches a certificate only when the answer also holds
for every configured constraint (:func:`~optimizers.certify.original_violation`):
the rewritten rows the method saw (limits on factors, folded bounds, null-space
shifts) are not what the user wrote. Zero specific variances are regularised for the
Newton steps and certified on the problem without the regularisation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from constraints import TotalRisk, TrackingError
from optimizers.certify import original_violation
from optimizers.dual import FEAS_TOL, GAP_TOL, DualData, DualStatic, solve_dual
from optimizers.problem import BIG

__all__ = ["DualPath", "REG_SHARE"]

REG_SHARE = 0.25  # share of the gap tolerance the zero-d regularisation may cost
NEAR_CERTIFIED = 1e-6  # last projected residual (weights) of a failed warm start retried cold


class DualPath:
    """Mixin of :class:`~optimizers.direct.DirectProblem`: the dual method's data and solve."""

    def _dual_static(self) -> DualStatic | None:
        """The dual method's fixed data, or ``None`` when the problem is not of its form.

        Several TE caps are one: they bound the same ``sqrt(a'Sa)``, so only the smallest
        can bind (it takes the multiplier; the others' are 0). Rows on a single name's
        trade (per-name turnover, buy or sell limits: ``a_b buy_i + a_s sell_i <= h``
        with ``a_b, a_s >= 0``) are bounds on that name's weight, ``w0_i - h / a_s <= w_i
        <= w0_i + h / a_b``, folded in at each solve (:meth:`_name_row_bounds`).
        """
        if not self.use_risk:
            return None
        risk = (TrackingError, TotalRisk)
        if any(not isinstance(self.constraints[blk.ci], risk) for blk, _ in self.socs):
            return None
        F = self.Lt.T @ self.Lt
        if not DualStatic.eligible(F, self.d):
            return None
        rows, G = self.shared_rows()  # every row but lb, ub, buy >= 0, sell >= 0
        on_t = (G.indices >= self.it) & (G.indices < self.ifac)
        if on_t.any():  # a row on the impact epigraph: not of the form
            return None
        single = self._single_name_rows(G)
        single_rows = single >= 0
        self.dual_rows, self.name_rows = rows[~single_rows], rows[single_rows]
        self.name_of_row = single[single_rows]
        Gn = G[single_rows].tocoo()
        n = self.n
        on_b = (Gn.col >= self.ib) & (Gn.col < self.ib + n)
        on_s = (Gn.col >= self.isl) & (Gn.col < self.isl + n)
        r = len(self.name_rows)
        self.name_ab = np.bincount(Gn.row[on_b], weights=Gn.data[on_b], minlength=r)
        self.name_as = np.bincount(Gn.row[on_s], weights=Gn.data[on_s], minlength=r)
        # the impact columns [it, ifac) hold no entry: drop them by shifting the factors'
        Gd = G[~single_rows] if single_rows.any() else G  # (a row copy only when needed)
        m = self.ifac - self.it
        cols = np.where(Gd.indices >= self.ifac, Gd.indices - m, Gd.indices)
        Gd = sp.csr_matrix((Gd.data, cols, Gd.indptr), shape=(Gd.shape[0], self.nz - m))
        self._dual_G, self._free = Gd, None
        return DualStatic(self.B, F, self.d, Gd)

    def _free_static(self) -> DualStatic:
        """The risk-free relaxation's fixed data (built on first use): max-alpha mode
        with its TE caps dropped.

        Without a risk multiplier the factor exposures ``f`` are priced by nothing but
        the rows, so they are eliminated: with ``F`` taken as zero every factor
        direction is in its null space, and :class:`~optimizers.dual_data.DualStatic`
        moves each row's factor part ``Gf B' (w - b)`` onto the row's weights and limit
        (no factor multiplier is left; ``p`` = the rows)."""
        if self._free is None:
            K = self.B.shape[1]
            self._free = DualStatic(self.B, np.zeros((K, K)), self.d, self._dual_G)
        return self._free

    def _single_name_rows(self, G) -> np.ndarray:
        """Per row of ``G``: the name ``i`` when the row is ``a_b buy_i + a_s sell_i`` with
        ``a_b, a_s >= 0`` (no weight, factor or other name's entry), else -1.

        Only rows with one or two non-zeros can be such a row; over their entries at
        once: every non-zero lies on ``buy`` or ``sell``, none is negative, and their
        smallest and largest name agree."""
        n = self.n
        G = sp.csr_matrix(G)
        R = G.shape[0]
        out = np.full(R, -1)
        # at most two non-zeros (buy_i, sell_i): only those rows are examined
        seen = np.r_[0, np.cumsum(G.data != 0)]
        count = seen[G.indptr[1:]] - seen[G.indptr[:-1]]
        cand = np.flatnonzero((count >= 1) & (count <= 2))
        if not len(cand):
            return out
        G = G[cand]
        rows = np.repeat(np.arange(len(cand)), np.diff(G.indptr))
        nz = G.data != 0
        r, c, v = rows[nz], G.indices[nz], G.data[nz]
        bad = np.bincount(r, weights=(c < n) | (c >= 3 * n) | (v < 0), minlength=len(cand)) > 0
        starts = np.cumsum(count[cand]) - count[cand]  # each row's first non-zero
        name = c % n
        lo, hi = np.minimum.reduceat(name, starts), np.maximum.reduceat(name, starts)
        ok = (lo == hi) & ~bad
        out[cand[ok]] = lo[ok]
        return out

    def _name_row_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Weight bounds with the single-name rows folded in; also which name's lower /
        upper bound each row set (``-1``: none). ``None`` when a row's limit is negative
        (no trade meets it: Clarabel decides the infeasibility)."""
        lb, ub = self.lb.value.copy(), self.ub.value.copy()
        by_lb, by_ub = np.full(self.n, -1), np.full(self.n, -1)
        if not len(self.name_rows):
            return lb, ub, by_lb, by_ub
        h = self.b[self.n_zero + self.name_rows]
        live = h < 0.5 * BIG
        if (h[live] < 0).any():
            return None
        w0 = self.data.w0
        for j in np.flatnonzero(live):
            i, ab, as_ = self.name_of_row[j], self.name_ab[j], self.name_as[j]
            if ab > 0 and w0[i] + h[j] / ab < ub[i]:
                ub[i], by_ub[i] = w0[i] + h[j] / ab, j
            if as_ > 0 and w0[i] - h[j] / as_ > lb[i]:
                lb[i], by_lb[i] = w0[i] - h[j] / as_, j
        return lb, ub, by_lb, by_ub

    # ------------------------------------------------------------- parameters

    def dual_data(self, free: bool = False) -> DualData | None:
        """This solve's problem in the dual method's form, ``None`` when not of it.

        ``free=True``: the risk-free relaxation of max-alpha mode (every TE cap dropped,
        :meth:`_free_static`); ``None`` unless the problem is in max-alpha mode with TE
        caps only."""
        if self._dual is None or (self.lam <= 0 and not self.socs):
            return None
        if free and (self.lam > 0 or self._smallest_cap(TotalRisk)[0] is not None):
            return None
        static = self._free_static() if free else self._dual
        bounds = self._name_row_bounds()
        if bounds is None:
            return None
        lb, ub, self._by_lb, self._by_ub = bounds
        if (lb > ub).any():
            return None
        n, off = self.n, self.n_zero
        h = self.b[off + self.dual_rows]
        keep = h < 0.5 * BIG
        h = h + static.row_shift(self.data.benchmark)
        te, self._te_cap = self._smallest_cap(TrackingError)
        vol, self._vol_cap = self._smallest_cap(TotalRisk)
        if free:
            te = None
        half_tau = 0.5 * self.tau * np.ones(n)
        k = np.zeros(n)
        if len(self.impact_idx):
            k[self.impact_idx] = self.k
        if free and not (k > 0).all():
            return None  # a name without impact has a linear Lagrangian: no Newton step
        linear = self.obj.linear_costs
        reg = None if free else self._regularisation()
        if reg is not None and (k[reg > 0] == 0).any():
            return None  # a zero-d name without impact: a linear Lagrangian (Clarabel)
        return DualData(
            static,
            alpha=self.alpha,
            b=self.data.benchmark,
            w0=self.data.w0,
            lb=lb,
            ub=ub,
            lam=self.lam,
            cb=half_tau + (self.cb if linear else 0.0),
            cs=half_tau + (self.cs if linear else 0.0),
            k=k,
            h=h[keep],
            te=te,
            keep=keep,
            reg=reg,
            vol=vol,
            Btb=self.Btb,
        )

    def _smallest_cap(self, kind) -> tuple[float | None, int | None]:
        """The smallest cap of ``kind`` this solve (only it can bind) and its cone."""
        caps = [
            (float(self.b[blk.risk_row]), j)
            for j, (blk, _) in enumerate(self.socs)
            if isinstance(self.constraints[blk.ci], kind)
        ]
        return min(caps) if caps else (None, None)

    def _regularisation(self) -> np.ndarray | None:
        """Specific variance added for the Newton iterations where ``d`` is (near) zero.

        Moving a name's weight by at most ``A_i = max(|ub_i - b_i|, |lb_i - b_i|)``
        changes the regularised Lagrangian by at most ``rho reg_i A_i^2``; ``reg`` is
        ``REG_SHARE * GAP_TOL / (rho sum_i A_i^2)`` so the dual value moves by a share of
        the gap tolerance (``rho`` is taken as ``lambda``, or 1 in max-alpha mode). The
        answer is certified on the problem without it (:class:`~optimizers.dual.DualData`).
        """
        lb, ub, b = self.lb.value, self.ub.value, self.data.benchmark
        span = np.maximum((ub - b) ** 2, (lb - b) ** 2)
        rho = self.lam if self.lam > 0 else 1.0
        delta = REG_SHARE * GAP_TOL / (rho * max(float(span.sum()), 1e-12))
        low = self.d < delta
        if not low.any():
            return None
        return np.where(low, delta - self.d, 0.0)

    def _solve_dual(self):
        """Certified dual Newton (:mod:`optimizers.dual`), warm-started from the last
        multipliers; ``(z, y, objective)`` in Clarabel's layout, or ``None``.

        Max-alpha mode tries the risk-free relaxation first (:meth:`_free_static`): when
        its certified answer meets every TE cap it is the capped problem's optimum too
        (a relaxation's optimum that is feasible; its dual bound is a bound on the
        capped problem, with the caps' multipliers 0). A TE cap that does not bind
        otherwise leaves ``rho = mu -> 0``, where the factor multipliers are undetermined
        and the Newton steps stall. When the relaxation breaks a cap, the cap binds and
        the method with its multiplier answers.

        Clarabel is a poor stand-in there: with ``lambda = 0`` the problem is a linear
        objective over the rows, one 3-D power cone per name (impact) and the TE cones
        far from their boundary, and its interior-point path stalls
        (``InsufficientProgress``, primal residual ~3e-3) at N = 5,000 for two of the
        three impact-cone scales and at N = 20,000 for all of them.
        """
        self.uncertified = None
        if self.lam > 0:
            return self._solve_dual_with(free=False)
        # a what-if re-solve usually keeps the cap binding or not: last time's first
        why = {}
        for free in (False, True) if self._cap_bound else (True, False):
            self.uncertified = None
            out = self._solve_dual_with(free)
            if out is not None:
                self._cap_bound = not free
                return out
            why[free] = self.uncertified
        self.uncertified = why[False]  # the relaxation breaking a cap is no refusal
        return None

    def _solve_dual_with(self, free: bool):
        """One dual solve: the relaxation without risk (``free``) or the full problem."""
        P = self.dual_data(free)
        if P is None:
            return None
        n, off, keep, te = self.n, self.n_zero, P.keep, P.te
        v0, last = None, self._dual_v_free if free else self._dual_v
        if last is not None:  # stored over every shared row: pick this solve's
            full, K = last, P.K
            v0 = np.r_[full[:K], full[K : K + len(keep)][keep], full[K + len(keep) :]]
        trace: list = []
        self.dual_far = False
        res = solve_dual(P, v0, trace)
        if res is None and v0 is not None and trace and trace[-1][1] < NEAR_CERTIFIED:
            # a warm start can end at the rounding floor of the dual value just short of
            # the certificate (no step passes the Armijo test) where a cold start, a few
            # milliseconds, is certified: try it before Clarabel and its fallbacks (the
            # conic chain took 21 s for such a point of a 2,000-name what-if grid). An
            # infeasible problem's dual diverges instead: Clarabel decides it at once.
            res = solve_dual(P, None)
        if res is None:
            # ended far from feasibility: an infeasible problem's dual diverges
            self.dual_far = bool(trace) and trace[-1][1] >= NEAR_CERTIFIED
            return None
        # the certificate covers the configured constraints, not only the rewritten rows
        # (and, for the relaxation, the TE caps it dropped)
        worst, where = original_violation(
            self.cons, self.data, res.w, self.lb.value, self.ub.value, self.relax
        )
        if worst > FEAS_TOL:
            self.uncertified = f"{where} exceeded by {worst:.1e} (relative) on the dual answer"
            return None
        pi = np.zeros(len(keep))
        pi[keep] = res.pi
        risk_v = ([res.mu] if te is not None else []) + ([res.nu] if P.vol is not None else [])
        if free:
            self._dual_v_free = pi
        else:
            self._dual_v = np.r_[res.v[: P.K], pi, risk_v]
        self.certificate = {
            "duality_gap": res.gap,
            "max_violation": max(res.max_violation, worst),
            "iterations": res.iterations,
            "tolerance": res.tolerance,
            "feasibility_tolerance": FEAS_TOL,
        }
        z = np.zeros(self.nz)
        z[:n], z[self.ib : self.ib + n], z[self.isl : self.isl + n] = res.w, res.buy, res.sell
        m = len(self.impact_idx)
        if m:
            ax = np.abs(res.w - self.data.w0)[self.impact_idx]
            z[self.it : self.it + m] = ax * np.sqrt(ax) / np.sqrt(self.scale)
        z[self.ifac :] = self.B.T @ (res.w - self.data.benchmark)
        y = np.zeros(self.n_rows)
        y_lb, y_ub = res.y_lb.copy(), res.y_ub.copy()
        # a bound set by a single-name row is that row's: its multiplier per unit of the
        # row is the bound's divided by the row's slope
        for by, yb, coef in ((self._by_ub, y_ub, self.name_ab), (self._by_lb, y_lb, self.name_as)):
            names = np.flatnonzero(by >= 0)
            y[off + self.name_rows[by[names]]] += yb[names] / coef[by[names]]
            yb[names] = 0.0
        y[off + self.r_lb], y[off + self.r_ub] = y_lb, y_ub
        y[off + self.dual_rows] = pi
        if te is not None:  # d(objective) / d(TE cap), on the smallest (binding) cap
            y[self.socs[self._te_cap][0].risk_row] = 2.0 * res.mu * te
        if P.vol is not None:
            y[self.socs[self._vol_cap][0].risk_row] = 2.0 * res.nu * P.vol
        return z, y, res.primal - self.const
