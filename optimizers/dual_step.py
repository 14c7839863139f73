r"""The dual Newton method's linear algebra (:mod:`optimizers.dual`): one step's system.

At multipliers ``v = (y, z)`` (``y``: the ``K`` factor multipliers, ``z``: rows, TE and
total-risk caps) the negated generalised Hessian is a sum of outer products,

    -H = M' |D| M + J' Phi J,

``M`` (``n_f x p``) the free names' rows ``[B_i, E_i, 2 d_i (w_i - b_i), 2 d_i w_i]``
(only names trading strictly inside their bounds move with ``v``), ``|D|`` their
inverse curvatures, ``J = [-I, Gf', 2 F f, 2 F (f + B'b)]`` (``K x p``) the factor
part's derivative and ``Phi = F^-1 / (2 rho)`` (diagonal: :class:`DualStatic` works in
``F``'s eigenbasis). The step solves ``(-H + reg I) d = g`` on the multipliers not
held at zero, two ways, whichever costs fewer flops at this point:

* **dense** (:func:`dense_hessian`): form the ``p x p`` matrix (a symmetric rank-``n_f``
  update of ``M``'s columns that can be non-zero, ``n_f m^2``: ``K`` factors, the rows
  with an entry on the names and the risk caps -- a limit placed on a factor has a
  zero column) and factor it (``p^3 / 3``): cheap with few factors;
* **Woodbury**: with many factors and few free names (the 504-factor Ledoit-Wolf form,
  where ~30 of 1,200 names trade inside their bounds) the ``y`` block ``Lambda + B_f'
  |D| B_f`` (``Lambda = Phi + reg I``, diagonal) is inverted through the ``n_f x n_f``
  matrix ``W = I + |D|^1/2 B_f Lambda^-1 B_f' |D|^1/2`` (the Woodbury identity), and
  ``z`` solves the small Schur complement, written through ``W`` too. No ``p x p`` or
  ``K x q`` product is formed except on ``J``'s non-zero ``z`` columns (factor rows and
  risk caps): ``O(n_f^2 K + n_f^2 q + n_f q^2 + q^3)`` per step with ``q = p - K`` (plus
  ``O(K m (n_f + m))`` for ``m`` such columns), instead of ``O(n_f p^2 + p^3)``. On the
  demo's 504-factor model a step's system costs ~0.3 ms instead of ~12 ms.

Both solve the same system (the tests compare them); the certificate
(:func:`optimizers.dual._check`) never depends on how a step was found.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError
from scipy.linalg.blas import dsyrk
from scipy.linalg.lapack import dpotrf, dpotrs

__all__ = ["NewtonSystem", "dense_hessian"]


def _chol(A: np.ndarray) -> np.ndarray:
    """Upper Cholesky factor of ``A`` by LAPACK (scipy's checked wrappers cost more than
    these small factorisations); ``LinAlgError`` when not positive definite."""
    c, info = dpotrf(A, lower=False, clean=False)
    if info != 0:
        raise LinAlgError(f"not positive definite (dpotrf info {info})")
    return c


def _cho_solve(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not c.shape[0]:  # no free name: nothing to solve
        return np.zeros_like(b)
    x, info = dpotrs(c, b, lower=False)
    if info != 0:
        raise LinAlgError(f"dpotrs info {info}")
    return x


def _name_rows(P, pt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The free names' rows of ``M`` for ``z`` on its columns that can be non-zero
    (``n_f x m``), those columns' positions in ``z`` and ``sqrt|D|``.

    A row without an entry on the names (a limit on a factor) has a zero column in
    ``M``: only the ``live`` rows (:class:`~optimizers.dual_data.DualStatic`) and the
    risk caps' columns are formed."""
    i = pt.free
    cols = [np.where(pt.buying[:, None], P.Ebuy[i], P.Esell[i])]
    zc = [P.erows]
    if P.te is not None:
        cols.append((2.0 * P.d[i] * (pt.w[i] - P.b[i]))[:, None])
        zc.append([P.imu - P.K])
    if P.vol is not None:
        cols.append((2.0 * P.d[i] * pt.w[i])[:, None])
        zc.append([P.inu - P.K])
    return np.hstack(cols), np.concatenate(zc).astype(np.int64), np.sqrt(-pt.D)


def _factor_cols(P, pt) -> np.ndarray:
    """``J``'s columns for ``z`` (``K x q``): ``Gf'`` and ``2 F u`` per risk multiplier."""
    cols = [P.Gf.T]
    fv = P.fv
    if P.te is not None:
        cols.append((2.0 * fv * pt.f)[:, None])
    if P.vol is not None:
        cols.append((2.0 * fv * (pt.f + P.Bb))[:, None])
    return np.hstack(cols)


def dense_hessian(P, pt) -> np.ndarray:
    """The generalised Hessian ``H`` (negative semidefinite, ``p x p``) at ``pt``.

    ``M' |D| M`` by a symmetric rank-k update (``dsyrk``, half a general product's
    flops), ``J' Phi J`` from ``F``'s diagonal in ``O(K q + K q^2)``, never as a ``K x K``
    product.
    """
    K = P.K
    Mz, zc, sd = _name_rows(P, pt)
    H = np.zeros((P.p, P.p))
    if len(pt.free):
        S = P.static  # B's rows as given, rotated to F's eigenbasis in K x K algebra
        M = np.hstack([S.B0[pt.free], Mz]) * sd[:, None]
        Q = dsyrk(1.0, M.T, trans=0)  # upper triangle of M'M
        Q = np.triu(Q) + np.triu(Q, 1).T
        if S.Ur is not None:
            k0, U = S.B0.shape[1], S.Ur
            Qyy = U.T @ Q[:k0, :k0] @ U
            Q = np.block([[0.5 * (Qyy + Qyy.T), U.T @ Q[:k0, k0:]], [Q[k0:, :k0] @ U, Q[k0:, k0:]]])
        idx = np.r_[np.arange(K), K + zc]
        H[np.ix_(idx, idx)] = -Q
    phi = P.finv / (2.0 * pt.rho)
    Jz = _factor_cols(P, pt)
    X = Jz * phi[:, None]  # Phi Jz
    H[np.arange(K), np.arange(K)] -= phi
    H[:K, K:] += X  # (-I)' Phi Jz, negated
    H[K:, :K] += X.T
    H[K:, K:] -= Jz.T @ X
    return H


class NewtonSystem:
    """``(-H + reg I) d = g`` at ``pt`` on the free multipliers ``fr`` (see module).

    ``fr`` always holds the ``K`` factor multipliers (they are unbounded) first.
    ``method`` (``"dense"`` or ``"woodbury"``) overrides the choice by flop count.
    """

    def __init__(self, P, pt, fr: np.ndarray, method: str | None = None):
        K = P.K
        self.K, self.fr = K, fr
        self.zfr = fr[fr >= K] - K  # free multipliers among z
        nf, q, p = len(pt.free), len(self.zfr), K + len(self.zfr)
        m = K + len(P.erows) + (P.te is not None) + (P.vol is not None)  # M's live columns
        dense = nf * m * m + p**3 / 3
        wood = nf * nf * K + nf**3 / 3 + 3 * nf * K * (q + 1) + 2 * K * q * q + q**3 / 3
        self.woodbury = K > 0 and (wood < dense if method is None else method == "woodbury")
        if not self.woodbury:
            self.Hf = -dense_hessian(P, pt)[np.ix_(fr, fr)]
            self.top = float(np.abs(np.diag(self.Hf)).max(initial=0.0))
            return
        Mc, zc, sd = _name_rows(P, pt)
        Mz = np.zeros((nf, P.p - K))
        Mz[:, zc] = Mc
        self.Bs = P.brows(pt.free) * sd[:, None]  # sqrt|D| B_f
        self.Ms = Mz[:, self.zfr] * sd[:, None]  # sqrt|D| M_z
        self.phi = P.finv / (2.0 * pt.rho)
        Jz = _factor_cols(P, pt)[:, self.zfr]
        self.nz = np.flatnonzero(np.abs(Jz).max(axis=0, initial=0.0) > 0)  # J's live columns
        self.Jn = Jz[:, self.nz]
        self.Azz0 = self.Ms.T @ self.Ms
        self.Azz0[np.ix_(self.nz, self.nz)] += self.Jn.T @ (self.Jn * self.phi[:, None])
        dy = self.phi + np.einsum("nk,nk->k", self.Bs, self.Bs)
        self.top = float(max(dy.max(initial=0.0), np.diag(self.Azz0).max(initial=0.0)))

    def solve(self, reg: float, g: np.ndarray) -> np.ndarray:
        """The step on ``fr`` for damping ``reg``; ``LinAlgError`` when not positive
        definite in floating point (the caller damps more)."""
        if not self.woodbury:
            n = len(self.fr)
            A = self.Hf + reg * np.eye(n)
            return _cho_solve(_chol(A), g)
        K, Bs, Ms, nz, Jn = self.K, self.Bs, self.Ms, self.nz, self.Jn
        L = 1.0 / (self.phi + reg)  # Lambda^-1
        # y block: (Lambda + Bs'Bs)^-1 = L - L Bs' W^-1 Bs L with W = I + Bs L Bs'
        BL = Bs * L
        C = BL @ Bs.T
        W = C.copy()
        W[np.diag_indices_from(W)] += 1.0
        Wf = _chol(W)
        gy, gz = g[:K], g[K:]
        # Ayz = Bs'Ms - Phi Jz; V = Bs L Ayz; Schur complement S = Azz - Ayz' L Ayz + V'W^-1 V
        V = C @ Ms
        S = self.Azz0 - Ms.T @ V
        Lg = L * gy
        rz = gz - Ms.T @ (Bs @ Lg)
        if len(nz):
            PJ = Jn * self.phi[:, None]  # Phi Jz (live columns)
            BJ = BL @ PJ
            V[:, nz] -= BJ
            X = Ms.T @ BJ
            S[:, nz] += X
            S[nz, :] += X.T
            S[np.ix_(nz, nz)] -= PJ.T @ (PJ * L[:, None])
            rz[nz] += PJ.T @ Lg
        WV = _cho_solve(Wf, V)
        S += V.T @ WV
        S[np.diag_indices_from(S)] += reg
        rz += WV.T @ (Bs @ Lg)
        dz = _cho_solve(_chol(S), rz) if len(rz) else rz
        t = gy - Bs.T @ (Ms @ dz)
        if len(nz):
            t += PJ @ dz[nz]
        Lt = L * t
        dy = Lt - BL.T @ _cho_solve(Wf, Bs @ Lt)
        return np.r_[dy, dz]
