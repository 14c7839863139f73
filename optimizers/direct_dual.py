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

from constraints import TrackingError
from optimizers.certify import original_violation
from optimizers.dual import FEAS_TOL, GAP_TOL, DualData, DualStatic, solve_dual
from optimizers.problem import BIG

__all__ = ["DualPath", "REG_SHARE"]

REG_SHARE = 0.25  # share of the gap tolerance the zero-d regularisation may cost


class DualPath:
    """Mixin of :class:`~optimizers.direct.DirectProblem`: the dual method's data and solve."""

    def _dual_static(self) -> DualStatic | None:
        """The dual method's fixed data, or ``None`` when the problem is not of its form."""
        if not self.use_risk or len(self.socs) > 1:
            return None
        if any(not isinstance(self.constraints[blk.ci], TrackingError) for blk, _ in self.socs):
            return None
        F = self.Lt.T @ self.Lt
        if not DualStatic.eligible(F, self.d):
            return None
        own = np.r_[self.r_lb, self.r_ub, self.r_buy, self.r_sell]
        self.dual_rows = np.setdiff1d(np.arange(self.A_nonneg.shape[0]), own)
        G = self.A_nonneg[self.dual_rows]
        if G[:, self.it : self.ifac].nnz:  # a row on the impact epigraph: not of the form
            return None
        cols = np.r_[np.arange(self.it), np.arange(self.ifac, self.nz)]
        return DualStatic(self.B, F, self.d, G[:, cols])

    # ------------------------------------------------------------- parameters

    def dual_data(self) -> DualData | None:
        """This solve's problem in the dual method's form, ``None`` when not of it."""
        if self._dual is None or (self.lam <= 0 and not self.socs):
            return None
        n, off = self.n, self.A_zero.shape[0]
        h = self.b[off + self.dual_rows]
        keep = h < 0.5 * BIG
        h = h + self._dual.row_shift(self.data.benchmark)
        te = float(self.b[self.socs[0][0].risk_row]) if self.socs else None
        half_tau = 0.5 * self.tau * np.ones(n)
        k = np.zeros(n)
        if len(self.impact_idx):
            k[self.impact_idx] = self.k
        linear = self.obj.linear_costs
        reg = self._regularisation()
        if reg is not None and (k[reg > 0] == 0).any():
            return None  # a zero-d name without impact: a linear Lagrangian (Clarabel)
        return DualData(
            self._dual,
            alpha=self.alpha,
            b=self.data.benchmark,
            w0=self.data.w0,
            lb=self.lb.value,
            ub=self.ub.value,
            lam=self.lam,
            cb=half_tau + (self.cb if linear else 0.0),
            cs=half_tau + (self.cs if linear else 0.0),
            k=k,
            h=h[keep],
            te=te,
            keep=keep,
            reg=reg,
        )

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
        multipliers; ``(z, y, objective)`` in Clarabel's layout, or ``None``."""
        P = self.dual_data()
        if P is None:
            return None
        n, off, keep, te = self.n, self.A_zero.shape[0], P.keep, P.te
        v0 = None
        if self._dual_v is not None:  # stored over every shared row: pick this solve's
            full, K = self._dual_v, P.K
            v0 = np.r_[full[:K], full[K : K + len(keep)][keep], full[K + len(keep) :]]
        res = solve_dual(P, v0)
        if res is None:
            return None
        # the certificate covers the configured constraints, not only the rewritten rows
        worst, where = original_violation(
            self.cons, self.data, res.w, self.lb.value, self.ub.value, self.relax
        )
        if worst > FEAS_TOL:
            self.uncertified = f"{where} exceeded by {worst:.1e} (relative) on the dual answer"
            return None
        pi = np.zeros(len(keep))
        pi[keep] = res.pi
        self._dual_v = np.r_[res.v[: P.K], pi, [res.mu] if te is not None else []]
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
        y = np.zeros(self.A.shape[0])
        y[off + self.r_lb], y[off + self.r_ub] = res.y_lb, res.y_ub
        y[off + self.dual_rows] = pi
        if te is not None:
            y[self.socs[0][0].risk_row] = 2.0 * res.mu * te  # d(objective) / d(TE cap)
        return z, y, res.primal - self.const
