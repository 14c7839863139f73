"""A warm-startable exact solver for the common problem: projected Newton on the dual.

The direct problem (:mod:`optimizers.direct`) couples the names only through a few
aggregates: the factor exposures ``f = B'(w - b)`` (``K`` rows), the shared linear
rows ``G z <= h`` (budget, cash band, group and attribute limits, turnover; a few
dozen), the tracking-error cap and a total-risk cap. Pricing those with multipliers
``v = (y, pi, mu, nu)`` splits the Lagrangian into one problem per name,

    min_{l_i <= w_i <= u_i}  rho d_i (w_i - b_i)^2 + nu d_i w_i^2 + g_i w_i
                             + cb_i x+ + cs_i x- + k_i |x|^1.5,

with ``x = w_i - w0_i``, ``rho = lambda + mu`` (``mu``: the TE cap's multiplier, ``nu``
the total-risk cap's), ``g = -alpha + B y + Gw' pi`` and the buy / sell prices ``cb,
cs`` (linear costs, half the turnover penalty and the rows' buy / sell coefficients).
Its minimiser has a closed form (a quadratic in ``sqrt|x|``, then clipped to the
bounds), and the factor part ``min_f rho f'Ff + nu (f + B'b)'F(f + B'b) + c'f`` is ``f =
-(F^-1 c + 2 nu B'b) / (2 (rho + nu))``. The dual function is therefore evaluated in
``O(N K)`` with no factorisation, and it is concave and once differentiable (each name's
problem is strongly convex because ``d_i > 0`` and ``rho > 0``); its gradient is the
vector of constraint residuals and its generalised Hessian ``sum_i D_i e_i e_i'`` (``D_i
= -1 / h_i''`` for a name that trades strictly inside its bounds, else 0) plus the
factor part is a ``p x p`` matrix with ``p = K + rows + (TE cap) + (total-risk cap)``,
solved densely with few factors and through the few free names (Woodbury) with many
(:mod:`optimizers.dual_step`).
Several TE caps (or total-risk caps) are one: only the smallest can bind
(:mod:`optimizers.direct_dual`).

The dual is maximised by a projected (semismooth) Newton method: multipliers of
inequality rows and of the TE cap stay non-negative, those at zero with a gradient
pushing them below are held (Bertsekas 1982), and the projected step must pass an
Armijo test, its Levenberg-Marquardt damping (proportional to the residual) raised
until it does -- the generalised Hessian is singular along rows no trading name can
move and for duplicate rows. A solve started from the previous multipliers (a what-if
re-solve) takes a handful of Newton steps.

The answer is **certified, not trusted**: the primal point is each name's exact
minimiser at the final multipliers with ``f = B'(w - b)``, so per-name bounds hold
exactly; it is accepted only when every shared row and the TE cap hold to
:data:`FEAS_TOL` and the duality gap (primal objective minus dual value; by weak
duality the primal objective is then within the gap of the optimum, and complementary
slackness holds to the same amount) is at most ``GAP_TOL * max(1, |utility|)``
(:data:`GAP_TOL`, annualised utility units). Otherwise ``None``
is returned and the caller solves with Clarabel, which also decides infeasible
problems (an infeasible primal makes the dual unbounded: :data:`MAX_ITER` steps are
spent first). The max-alpha mode (``lambda = 0``) starts from ``mu = 1`` and is
certified when its TE cap binds; when it does not, ``rho = mu -> 0`` leaves the
factor multipliers undetermined and Newton stalls, so the caller first solves the
risk-free relaxation (no factor part, ``K = 0``, no risk multiplier: each name's
problem is linear plus its impact term) and keeps it when it meets the cap
(:mod:`optimizers.direct_dual`). Zero specific variances are
regularised for the Newton steps and certified on the problem without it
(:class:`~optimizers.dual_data.DualData`). Not handled here (Clarabel solves):
factor-risk caps, a zero specific variance on a name without impact (its Lagrangian
is linear) and a factor covariance that is not positive semidefinite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError

from optimizers.dual_data import DualData, DualStatic
from optimizers.dual_step import NewtonSystem, dense_hessian

__all__ = ["DualData", "DualResult", "DualStatic", "solve_dual"]

FEAS_TOL = 1e-9  # shared rows (weights, relative to max(1, |limit|)) and TE cap (TE)
GAP_TOL = 1e-9  # duality gap and pi' violation, relative: at most GAP_TOL * max(1, |utility|)
# in annualised utility units (utility = alpha'w - lambda a'Sa - costs; usually |utility| < 1,
# where the bound is 1e-9 absolute)
MAX_ITER = 60  # measured: 4-37 steps on random feasible problems (mean 9), 42 with the
# 504-factor Ledoit-Wolf form (37 on the demo); an infeasible one (unbounded dual) uses
# them all, ~0.1 s at N = 5,000, before Clarabel decides
ARMIJO = 1e-4
LM_MIN = 1e-6  # smallest Levenberg-Marquardt damping, relative to the residual
LM_MAX = 1e12  # damping beyond which steps are too small to matter
STALL = 5  # steps without any gain in the dual value after which the certificate decides


@dataclass
class DualResult:
    w: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    pi: np.ndarray  # row multipliers (>= 0)
    mu: float  # TE multiplier on the variance
    nu: float  # total-risk multiplier on the total variance
    y_lb: np.ndarray  # per-name bound multipliers
    y_ub: np.ndarray
    primal: float  # objective (minimised form, without the constant lam b'Db)
    dual: float
    gap: float  # primal - dual: the answer is within this of the optimum
    max_violation: float  # largest row (weights) or TE-cap excess, at most FEAS_TOL
    tolerance: float  # the gap bound met: GAP_TOL * max(1, |utility|)
    v: np.ndarray  # all multipliers, for a warm start
    iterations: int


def name_trades(c1, c2, a, k, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Each name's optimal trade ``x`` in ``[lo, hi]`` for ``a/2 x^2 + c x + k |x|^1.5``.

    ``c1`` / ``c2`` are the slopes at ``x = 0+`` / ``0-`` (``c1 >= c2``: the buy and
    sell prices open a no-trade band). A buy solves ``a s^2 + 1.5 k s + c1 = 0`` for
    ``s = sqrt(x)`` (written in the form without cancellation, valid for ``a = 0``),
    a sell ``a s^2 + 1.5 k s - c2 = 0`` for ``s = sqrt(-x)``; a convex function's
    minimiser on an interval is the clipped unconstrained one. Returns ``(x, free)``,
    ``free`` where the name trades strictly inside its bounds.
    """
    k15 = 1.5 * k
    buy, sell = c1 < 0.0, c2 > 0.0  # never both: c1 >= c2
    c = np.where(buy, -c1, np.where(sell, c2, 0.0))  # |slope| in the trade's direction
    # one pass over every name (no per-side masks): a name that does not trade gets 0
    num = 2.0 * c
    den = k15 + np.sqrt(k15**2 + 4.0 * a * c)
    # den = 0 when a = k = 0: a linear cost falling in the trade's direction, so the
    # minimiser is the bound (an infinite trade, clipped below); also when 4 a |c|
    # underflows (|c| subnormal, k = 0), where the minimiser is sqrt(|c| / a)
    zero = den == 0.0
    if zero.any():
        s = np.divide(num, den, out=np.full_like(num, np.inf), where=~zero)
        tiny = np.flatnonzero(zero & (a > 0.0) & (buy | sell))
        s[tiny] = np.sqrt(c[tiny] / a[tiny])
    else:
        s = num / den
    s *= s
    x = np.where(buy, s, np.where(sell, -s, 0.0))
    xc = np.minimum(np.maximum(x, lo), hi)
    return xc, (xc == x) & (x != 0.0)


class _Point:
    """The Lagrangian minimiser and the dual value / gradient at multipliers ``v``."""

    def __init__(self, P: DualData, v: np.ndarray):
        K, R = P.K, P.R
        y, pi = v[:K], v[K : K + R]
        mu = float(v[P.imu]) if P.te is not None else 0.0
        nu = float(v[P.inu]) if P.vol is not None else 0.0
        rho = P.lam + mu
        self.v, self.rho, self.mu, self.nu, self.P = v, rho + nu, mu, nu, P
        # in place where it changes no bit (x - a is x + (-a); sums commute): N-vectors
        # are the cost at large N, fresh ones the more so
        g = P.bmul(y)
        g -= P.alpha
        g += P.GwT @ pi  # g = -alpha + B y + Gw' pi
        cb = P.GbT @ pi
        cb += P.cb
        cs = P.GsT @ pi
        cs += P.cs
        # without a risk multiplier only a problem with no factor part stays bounded
        # (the risk-free relaxation of max-alpha mode, :mod:`optimizers.direct_dual`)
        self.ok = bool((cb + cs >= -1e-14).all()) and (rho + nu > 0 or K == 0)
        if not self.ok:
            return
        # per name: rho d (w - b)^2 + nu d w^2 (active and total variance) + g w + costs
        self.qa, self.qn = 2.0 * rho * P.d, 2.0 * nu * P.d
        a = self.qa + self.qn if nu else self.qa
        base = self.qa * P.dw0
        base += g
        if nu:
            base += self.qn * P.w0
        c1 = base + cb
        base -= cs
        xc, free = name_trades(c1, base, a, P.k, P.xlo, P.xhi)
        ax = np.abs(xc)
        w = P.w0 + xc
        xp = np.maximum(xc, 0.0)
        xm = np.negative(xc)
        np.maximum(xm, 0.0, out=xm)
        self.free = np.flatnonzero(free)
        xf = ax[self.free]
        self.D = -1.0 / (a[self.free] + 0.75 * P.k[self.free] / np.sqrt(xf))
        self.buying = xc[self.free] > 0
        self.w, self.xp, self.xm = w, xp, xm
        self.g, self.cb, self.cs, self.a = g, cb, cs, a
        c_f = -y + P.Gf.T @ pi
        # factor part: min_f rho f'Ff + nu (f + B'b)'F(f + B'b) + c_f'f
        f = -(P.finv * c_f + 2.0 * nu * P.Bb) / (2.0 * self.rho) if K else np.zeros(0)
        self.f = f
        dw = w - P.b
        self.dw = dw
        ddw = P.d * dw
        self.spec = float(ddw @ dw)
        self.fvar = float(P.fv @ (f * f))
        ft = f + P.Bb  # total factor exposure
        self.tspec = float(np.sum(P.d * w * w)) if P.vol is not None else 0.0
        self.tfvar = float(P.fv @ (ft * ft))
        # sum of 0.5 qa dw^2 + 0.5 qn w^2 + g w + cb x+ + cs x- + k |x|^1.5 over names
        per = rho * self.spec + nu * float(np.sum(P.d * w * w)) if nu else rho * self.spec
        ax15 = np.sqrt(ax)
        ax15 *= ax  # |x|^1.5
        per += float(g @ w + cb @ xp + cs @ xm + P.k @ ax15)
        fac = rho * self.fvar + nu * self.tfvar + c_f @ f
        self.value = float(per + fac - y @ P.Bb - pi @ P.h)
        if P.te is not None:
            self.value -= mu * P.te**2
        if P.vol is not None:
            self.value -= nu * P.vol**2
        self._grad = None

    @property
    def grad(self) -> np.ndarray:
        """The dual gradient (the constraint residuals), computed when first asked for: a
        trial point the step rejects never needs it."""
        if self._grad is None:
            P, K, R = self.P, self.P.K, self.P.R
            grad = np.empty(P.p)
            self.Bdw = P.btmul(self.dw)  # U_r'B'(w - b), also the certificate's f
            grad[:K] = self.Bdw - self.f
            rows = P.Gw @ self.w + P.Gb @ self.xp + P.Gs @ self.xm + P.Gf @ self.f
            grad[K : K + R] = rows - P.h
            if P.te is not None:
                grad[P.imu] = self.fvar + self.spec - P.te**2
            if P.vol is not None:
                grad[P.inu] = self.tfvar + self.tspec - P.vol**2
            self._grad = grad
        return self._grad

    def hessian(self, P: DualData) -> np.ndarray:
        """The generalised Hessian ``H`` (negative semidefinite) at this point
        (:func:`~optimizers.dual_step.dense_hessian`)."""
        return dense_hessian(P, self)


def _check(P: DualData, pt: _Point) -> tuple[bool, float, float, float, float]:
    """Certify the primal point ``(w, f = B'(w - b))`` at ``pt``.

    Returns ``(ok, primal objective, duality gap, largest violation, gap tolerance)``
    (rows in weights, relative to ``max(1, |h|)``; the TE cap in TE). ``ok`` when every
    row holds to :data:`FEAS_TOL` (weights), the TE cap to :data:`FEAS_TOL` (annualised
    TE), and the gap and the value of the remaining violations at the multipliers
    (``pi' viol``: how far below the optimum a slightly infeasible point can be) are at
    most ``GAP_TOL * max(1, |utility|)`` (utility ``= -(primal + lam b'Db)``).
    """
    reg = P.reg is not None
    P = P.original()  # certify the problem as posed: true d, exact dual bound
    dual = _Point(P, pt.v).value if reg else pt.value
    dw = pt.w - P.b
    f = pt.Bdw if pt._grad is not None else P.btmul(dw)
    fvar = float(P.fv @ (f * f))
    var = fvar + float(np.sum(P.d * dw * dw))
    ax = np.abs(pt.w - P.w0)
    primal = float(
        -P.alpha @ pt.w + P.lam * var + P.cb @ pt.xp + P.cs @ pt.xm + P.k @ (ax * np.sqrt(ax))
    )
    over = np.maximum(P.Gw @ pt.w + P.Gb @ pt.xp + P.Gs @ pt.xm + P.Gf @ f - P.h, 0.0)
    worst = float((over / np.maximum(1.0, np.abs(P.h))).max(initial=0.0))
    excess = float(pt.v[P.K : P.K + P.R] @ over)
    if P.te is not None:
        worst = max(worst, float(np.sqrt(var)) - P.te)
        excess += pt.mu * max(var - P.te**2, 0.0)
    if P.vol is not None:
        ft = f + P.Bb
        tvar = float(P.fv @ (ft * ft)) + float(np.sum(P.d * pt.w * pt.w))
        worst = max(worst, float(np.sqrt(tvar)) - P.vol)
        excess += pt.nu * max(tvar - P.vol**2, 0.0)
    gap = primal - dual
    utility = -(primal + P.lam * float(np.sum(P.d * P.b * P.b)))
    tol = GAP_TOL * max(1.0, abs(utility))
    return worst <= FEAS_TOL and gap <= tol and excess <= tol, primal, gap, worst, tol


def solve_dual(
    P: DualData, v0: np.ndarray | None = None, trace: list | None = None
) -> DualResult | None:
    """Maximise the dual by projected Newton; ``None`` when not certified (see module).

    ``trace``, when given, receives ``(iteration, max projected residual, damping,
    dual value)`` per step.
    """
    start = np.zeros(P.p)
    if P.lam <= 0 and P.K:  # max-alpha mode: a risk multiplier bounds the factor part
        start[P.imu if P.imu is not None else P.inu] = 1.0
    v = start if v0 is None or len(v0) != P.p else np.maximum(v0, P.lo)
    pt = _Point(P, v)
    if not pt.ok:
        pt = _Point(P, start)
        if not pt.ok:
            return None
    bounded = np.isfinite(P.lo)
    lm = LM_MIN
    values: list[float] = []
    for it in range(1, MAX_ITER + 1):
        g = pt.grad
        # projected-gradient optimality: free multipliers need g = 0, those at 0 need g <= 0
        at0 = bounded & (pt.v <= 0.0) & (g < 0.0)
        pg = np.where(at0, 0.0, g)
        size = float(np.abs(pg).max())
        if size <= 0.1 * FEAS_TOL:
            check = _check(P, pt)
            if check[0]:
                return _result(P, pt, it, check)
        # stalled (no step gains, e.g. a TE cap that does not bind in max-alpha mode
        # leaves the factor multipliers undetermined): the certificate alone decides
        values.append(pt.value)
        stalled = len(values) > STALL and values[-1] - values[-1 - STALL] <= 1e-13 * max(
            1.0, abs(values[-1])
        )
        if stalled or lm > LM_MAX:
            return _certified(P, pt, it)
        if trace is not None:
            trace.append((it, size, lm, pt.value))
        # active set (Bertsekas): multipliers near 0 pushed further down stay fixed
        eps = min(1e-12, size)
        act = bounded & (pt.v <= eps) & (g < 0.0)
        fr = np.flatnonzero(~act)
        system = NewtonSystem(P, pt, fr)
        floor = 1e-12 * max(1.0, system.top)
        # Levenberg-Marquardt: the damping grows until the projected step passes the
        # Armijo test (directions of zero curvature -- names all at a bound or in their
        # no-trade band -- otherwise get huge steps), and shrinks after a clean step
        for _ in range(40):
            reg = floor + lm * min(1.0, size)
            try:  # -H + reg I is positive definite: Cholesky (a failure means more damping)
                step = system.solve(reg, g[fr])
            except LinAlgError:
                lm *= 10.0
                continue
            d = np.zeros(P.p)
            d[fr] = step
            vn = np.maximum(pt.v + d, P.lo)
            nxt = _Point(P, vn)
            if nxt.ok and nxt.value >= pt.value + ARMIJO * g @ (vn - pt.v):
                break
            lm *= 10.0
        else:
            return _certified(P, pt, it)
        lm = max(lm / 10.0, LM_MIN)
        pt = nxt
    return _certified(P, pt, MAX_ITER)


def _certified(P: DualData, pt: _Point, it: int) -> DualResult | None:
    """The result at ``pt`` if it passes the certificate, else ``None``."""
    check = _check(P, pt)
    return _result(P, pt, it, check) if check[0] else None


def _result(P: DualData, pt: _Point, it: int, check: tuple) -> DualResult:
    K, R = P.K, P.R
    # per-name bound multipliers: the one-sided derivative of the name's Lagrangian
    base = pt.qa * (pt.w - P.b) + pt.qn * pt.w + pt.g
    x = pt.w - P.w0
    ax = np.abs(x)
    imp = 1.5 * P.k * np.sqrt(ax)
    right = base + np.where(x >= 0, pt.cb + imp, -pt.cs - imp)
    left = base + np.where(x > 0, pt.cb + imp, -pt.cs - imp)
    at_ub, at_lb = pt.w >= P.ub, pt.w <= P.lb
    # relaxing a bound by delta gains -h'(ub+) delta (upper) or h'(lb-) delta (lower)
    y_ub = np.where(at_ub, np.maximum(-right, 0.0), 0.0)
    y_lb = np.where(at_lb, np.maximum(left, 0.0), 0.0)
    return DualResult(
        w=pt.w,
        buy=pt.xp,
        sell=pt.xm,
        pi=pt.v[K : K + R].copy(),
        mu=pt.mu,
        nu=pt.nu,
        y_lb=y_lb,
        y_ub=y_ub,
        primal=check[1],
        dual=pt.value,
        gap=check[2],
        max_violation=max(check[3], 0.0),
        tolerance=check[4],
        v=pt.v.copy(),
        iterations=it,
    )
