"""A warm-startable exact solver for the common problem: projected Newton on the dual.

The direct problem (:mod:`optimizers.direct`) couples the names only through a few
aggregates: the factor exposures ``f = B'(w - b)`` (``K`` rows), the shared linear
rows ``G z <= h`` (budget, cash band, group and attribute limits, turnover; a few
dozen) and the tracking-error cap. Pricing those with multipliers ``v = (y, pi, mu)``
splits the Lagrangian into one problem per name,

    min_{l_i <= w_i <= u_i}  rho d_i (w_i - b_i)^2 + g_i w_i + cb_i x+ + cs_i x- + k_i |x|^1.5,

with ``x = w_i - w0_i``, ``rho = lambda + mu``, ``g = -alpha + B y + Gw' pi`` and the
buy / sell prices ``cb, cs`` (linear costs, half the turnover penalty and the rows'
buy / sell coefficients). Its minimiser has a closed form (a quadratic in
``sqrt|x|``, then clipped to the bounds), and the factor part ``min_f rho f'Ff + c'f``
is ``f = -F^-1 c / (2 rho)``. The dual function is therefore evaluated in ``O(N K)``
with no factorisation, and it is concave and once differentiable (each name's problem
is strongly convex because ``d_i > 0`` and ``rho > 0``); its gradient is the vector
of constraint residuals and its generalised Hessian ``sum_i D_i e_i e_i'`` (``D_i =
-1 / h_i''`` for a name that trades strictly inside its bounds, else 0) plus the
factor part is a ``p x p`` matrix with ``p = K + rows + 1``.

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
factor multipliers undetermined, Newton stalls, and the point where it stalls is used
only if it passes the certificate (else Clarabel solves). Not handled here (Clarabel
solves): total-risk and factor-risk caps, more than one TE cap, zero specific
variance and a factor covariance that is not positive semidefinite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["DualData", "DualResult", "DualStatic", "solve_dual"]

FEAS_TOL = 1e-9  # shared rows (weights, relative to max(1, |limit|)) and TE cap (TE)
GAP_TOL = 1e-9  # duality gap and pi' violation, relative: at most GAP_TOL * max(1, |utility|)
# in annualised utility units (utility = alpha'w - lambda a'Sa - costs; usually |utility| < 1,
# where the bound is 1e-9 absolute)
MAX_ITER = 60  # measured: 4-37 steps on random feasible problems (mean 9), 42 with the
# 504-factor Ledoit-Wolf form; an infeasible one (unbounded dual) uses them all, ~0.1 s
# at N = 5,000, before Clarabel decides
ARMIJO = 1e-4
EIG_TOL = 1e-12  # factor-covariance eigenvalues below this share of the largest are zero
LM_MIN = 1e-6  # smallest Levenberg-Marquardt damping, relative to the residual
LM_MAX = 1e12  # damping beyond which steps are too small to matter
STALL = 5  # steps without any gain in the dual value after which the certificate decides


_FIELDS = ("static", "alpha", "b", "w0", "lb", "ub", "lam", "cb", "cs", "k", "h", "te", "keep")


class DualStatic:
    """The parts fixed per universe: risk model and shared-row matrices (built once).

    ``G`` holds the shared rows ``G [w; buy; sell; f] <= h`` as one sparse matrix with
    ``3 N + K`` columns.

    A singular factor covariance (a fundamental model whose country factors sum to
    zero, say) is handled exactly: with ``F = U_r L U_r'`` (eigenvalues at most
    :data:`EIG_TOL` of the largest count as zero), risk sees only ``f_r = U_r' f``, so
    the problem is written in ``f_r`` (``B`` becomes ``B U_r``, ``F`` becomes ``L``)
    and the null-space part of a factor row, ``Gf U_0 U_0' B' (w - b)``, moves onto
    the row's weights (``W0``) and limit (``W0 b``, :meth:`row_shift`).
    """

    def __init__(self, B: np.ndarray, F: np.ndarray, d: np.ndarray, G: sp.csr_matrix):
        n = B.shape[0]
        vals, U = np.linalg.eigh(F)
        pos = vals > EIG_TOL * max(float(vals.max(initial=0.0)), 1e-300)
        Ur, U0 = U[:, pos], U[:, ~pos]
        self.B = np.ascontiguousarray(B @ Ur)
        self.F = np.diag(vals[pos])
        self.Finv = np.diag(1.0 / vals[pos])
        self.d = d
        G = sp.csr_matrix(G)
        Gf = G[:, 3 * n :].toarray()
        self.Gf = Gf @ Ur
        self.W0 = (Gf @ U0) @ (U0.T @ B.T) if U0.shape[1] and Gf.any() else None
        self.Gw, self.Gb, self.Gs = G[:, :n], G[:, n : 2 * n], G[:, 2 * n : 3 * n]
        if self.W0 is not None:
            self.Gw = sp.csr_matrix(self.Gw + self.W0)
        # per-name row coefficients when buying (Gw + Gb) and selling (Gw - Gs)
        self.Ebuy = np.ascontiguousarray((self.Gw + self.Gb).T.toarray())
        self.Esell = np.ascontiguousarray((self.Gw - self.Gs).T.toarray())
        self.GwT, self.GbT, self.GsT = (m.T.tocsr() for m in (self.Gw, self.Gb, self.Gs))

    def row_shift(self, b: np.ndarray) -> np.ndarray | float:
        """What the shared rows' limits gain from the null-space rewrite (``W0 b``)."""
        return 0.0 if self.W0 is None else self.W0 @ b

    @staticmethod
    def eligible(F: np.ndarray, d: np.ndarray) -> bool:
        """Non-negative specific variances and a positive semidefinite factor covariance
        (zero specific variances are regularised per solve, see :class:`DualData`)."""
        if not (d >= 0).all():
            return False
        vals = np.linalg.eigvalsh(F) if F.size else np.zeros(1)
        return bool(vals.min() >= -EIG_TOL * max(float(vals.max()), 1e-300))


@dataclass
class DualData:
    """One solve's data: the static part, this solve's vectors, and the rows kept.

    Minimise ``-alpha'w + lam (f'Ff + sum d (w-b)^2) + sum cb x+ + cs x- + k |x|^1.5``
    subject to ``f = B'(w - b)``, ``lb <= w <= ub``, the kept rows of
    ``Gw w + Gb x+ + Gs x- + Gf f <= h`` and ``f'Ff + sum d (w-b)^2 <= te^2`` when
    ``te`` is set. ``keep`` selects the static rows used (rows with an infinite limit
    are dropped); ``h`` holds the kept rows' limits.

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

    def __post_init__(self):
        S = self.static
        self.B, self.F, self.Finv, self.d = S.B, S.F, S.Finv, S.d
        if self.reg is not None:
            self.d = S.d + self.reg
        if self.keep is None or self.keep.all():
            self.Gw, self.Gb, self.Gs, self.Gf = S.Gw, S.Gb, S.Gs, S.Gf
            self.Ebuy, self.Esell = S.Ebuy, S.Esell
            self.GwT, self.GbT, self.GsT = S.GwT, S.GbT, S.GsT
        else:
            k = self.keep
            self.Gw, self.Gb, self.Gs, self.Gf = S.Gw[k], S.Gb[k], S.Gs[k], S.Gf[k]
            self.Ebuy, self.Esell = S.Ebuy[:, k], S.Esell[:, k]
            self.GwT, self.GbT, self.GsT = (m.T.tocsr() for m in (self.Gw, self.Gb, self.Gs))
        self.Bb = self.B.T @ self.b
        self.K, self.R = self.B.shape[1], self.Gw.shape[0]
        self.p = self.K + self.R + (self.te is not None)
        self.lo = np.r_[np.full(self.K, -np.inf), np.zeros(self.p - self.K)]

    def original(self) -> DualData:
        """This problem without the regularisation ``reg`` (itself when there is none)."""
        if self.reg is None:
            return self
        return DualData(**{**{k: getattr(self, k) for k in _FIELDS}, "reg": None})


@dataclass
class DualResult:
    w: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    pi: np.ndarray  # row multipliers (>= 0)
    mu: float  # TE multiplier on the variance
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
    x = np.zeros_like(c1)
    for side, c, sign in ((c1 < 0.0, c1, 1.0), (c2 > 0.0, c2, -1.0)):
        num = 2.0 * np.abs(c[side])
        den = k15[side] + np.sqrt(k15[side] ** 2 + 4.0 * a[side] * np.abs(c[side]))
        # den = 0 when a = k = 0: a linear cost falling in the trade's direction, so the
        # minimiser is the bound (an infinite trade, clipped below)
        s = np.divide(num, den, out=np.full_like(num, np.inf), where=den > 0.0)
        x[side] = sign * s * s
    xc = np.minimum(np.maximum(x, lo), hi)
    return xc, (xc == x) & (x != 0.0)


class _Point:
    """The Lagrangian minimiser and the dual value / gradient at multipliers ``v``."""

    def __init__(self, P: DualData, v: np.ndarray):
        K, R = P.K, P.R
        y, pi = v[:K], v[K : K + R]
        mu = float(v[K + R]) if P.te is not None else 0.0
        rho = P.lam + mu
        self.v, self.rho, self.mu = v, rho, mu
        g = -P.alpha + P.B @ y + P.GwT @ pi
        cb = P.cb + P.GbT @ pi
        cs = P.cs + P.GsT @ pi
        self.ok = bool((cb + cs >= -1e-14).all()) and rho > 0
        if not self.ok:
            return
        a = 2.0 * rho * P.d
        base = a * (P.w0 - P.b) + g
        xc, free = name_trades(base + cb, base - cs, a, P.k, P.lb - P.w0, P.ub - P.w0)
        ax = np.abs(xc)
        w = P.w0 + xc
        xp, xm = np.maximum(xc, 0.0), np.maximum(-xc, 0.0)
        curv = a[free] + 0.75 * P.k[free] / np.sqrt(ax[free])
        self.free = np.flatnonzero(free)
        self.D = -1.0 / curv
        self.buying = xc[free] > 0
        self.w, self.xp, self.xm = w, xp, xm
        self.g, self.cb, self.cs, self.a = g, cb, cs, a
        c_f = -y + P.Gf.T @ pi
        f = -(P.Finv @ c_f) / (2.0 * rho)
        self.f = f
        dw = w - P.b
        self.spec = float(np.sum(P.d * dw * dw))
        self.fvar = float(f @ P.F @ f)
        per = 0.5 * a * dw * dw + g * w + cb * xp + cs * xm + P.k * ax * np.sqrt(ax)
        self.value = float(per.sum() + 0.5 * c_f @ f - y @ P.Bb - pi @ P.h)
        grad = np.empty(P.p)
        grad[:K] = P.B.T @ dw - f
        rows = P.Gw @ w + P.Gb @ xp + P.Gs @ xm + P.Gf @ f
        grad[K : K + R] = rows - P.h
        if P.te is not None:
            self.value -= mu * P.te**2
            grad[K + R] = self.fvar + self.spec - P.te**2
        self.grad = grad

    def hessian(self, P: DualData) -> np.ndarray:
        K, R = P.K, P.R
        i = self.free
        E = np.where(self.buying[:, None], P.Ebuy[i], P.Esell[i])
        cols = [P.B[i], E]
        if P.te is not None:
            cols.append((2.0 * P.d[i] * (self.w[i] - P.b[i]))[:, None])
        M = np.hstack(cols)
        H = (M * self.D[:, None]).T @ M
        C = np.hstack([-np.eye(K), P.Gf.T])  # c_f = C (y, pi)
        H[: K + R, : K + R] -= C.T @ P.Finv @ C / (2.0 * self.rho)
        if P.te is not None:
            col = -(C.T @ self.f) / self.rho
            H[: K + R, K + R] += col
            H[K + R, : K + R] += col
            H[K + R, K + R] -= 2.0 * self.fvar / self.rho
        return H


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
    f = P.B.T @ dw
    fvar = float(f @ P.F @ f)
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
    if P.lam <= 0:  # max-alpha mode: only the TE multiplier makes the names' problems convex
        start[-1] = 1.0
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
        Hf = -pt.hessian(P)[np.ix_(fr, fr)]
        floor = 1e-12 * max(1.0, float(np.abs(np.diag(Hf)).max()))
        # Levenberg-Marquardt: the damping grows until the projected step passes the
        # Armijo test (directions of zero curvature -- names all at a bound or in their
        # no-trade band -- otherwise get huge steps), and shrinks after a clean step
        for _ in range(40):
            reg = floor + lm * min(1.0, size)
            try:
                step = np.linalg.solve(Hf + reg * np.eye(len(fr)), g[fr])
            except np.linalg.LinAlgError:
                return None
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
    base = pt.a * (pt.w - P.b) + pt.g
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
