"""Low-rank-plus-diagonal covariance ``S = G diag(s) G' + diag(D)`` and its factor forms.

Every dense estimator in this package produces its estimate in this form, computed from
the T x N return panel without building the N x N matrix. :func:`to_factor_form` hands it
to the optimizer as a :class:`~optimizers.risk.FactorRiskModel` in one of two ways:

``exact``
    ``B = G``, ``F = diag(s)``, ``d = D``. Identical to the dense estimate (up to
    rounding). Allowed when ``s >= 0`` (so ``F`` is PSD) and ``D > 0`` (so every asset has a
    non-zero specific variance). "Specific" then means the diagonal part of the form, e.g.
    the shrinkage target's diagonal ``delta * mu``.
``eigen``
    The top ``K`` eigenpairs ``(lambda_k, v_k)`` of ``S``: ``B = V``, ``F = diag(lambda)``,
    ``d_i = S_ii - sum_k lambda_k v_ik^2`` (the residual after the top-K components, so the
    diagonal of ``S`` is kept exactly). The off-diagonal truncation error is reported as
    ``||S - (B F B' + diag(d))||_F / ||S||_F``, which equals
    ``sqrt(||S||_F^2 - sum lambda_k^2 - ||d||^2) / ||S||_F``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LowRankPlusDiag", "FactorForm", "to_factor_form"]

_DENSE_EIGH_MAX = 2000


@dataclass(frozen=True, eq=False)
class LowRankPlusDiag:
    r"""``S = G diag(s) G' + diag(D)`` (daily units unless stated).

    Parameters
    ----------
    G : ndarray (N, m)
    s : ndarray (m,)
        Core weights; may be negative only if the whole ``S`` stays PSD.
    D : ndarray (N,)
        Diagonal part, non-negative.
    """

    G: np.ndarray
    s: np.ndarray
    D: np.ndarray

    @property
    def n(self) -> int:
        return self.G.shape[0]

    def scaled(self, factor: float) -> LowRankPlusDiag:
        """``factor * S`` (e.g. 252 to annualise)."""
        return LowRankPlusDiag(self.G, self.s * factor, self.D * factor)

    def dense(self) -> np.ndarray:
        """The N x N matrix (small N: checks and optional ``covariance_`` only)."""
        S = (self.G * self.s) @ self.G.T
        S[np.diag_indices_from(S)] += self.D
        return S

    def diagonal(self) -> np.ndarray:
        """``diag(S)`` without forming ``S``."""
        return (self.G**2) @ self.s + self.D

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """``S v`` for ``v`` of shape (N,) or (N, k)."""
        Gv = self.G.T @ v
        Gv = Gv * (self.s if Gv.ndim == 1 else self.s[:, None])
        Dv = self.D * v if v.ndim == 1 else self.D[:, None] * v
        return self.G @ Gv + Dv

    def frobenius_sq(self) -> float:
        """``||S||_F^2`` from the m x m Gram matrix.

        ``sum_kl s_k s_l (G'G)_kl^2 + 2 D' diag(G diag(s) G') + D'D``.
        """
        M = self.G.T @ self.G
        low = float(np.einsum("k,l,kl->", self.s, self.s, M * M))
        cross = 2.0 * float(self.D @ ((self.G**2) @ self.s))
        return low + cross + float(self.D @ self.D)

    def top_eigen(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` largest eigenpairs ``(lambda (k,), V (N, k))``, descending.

        Constant ``D`` with ``s >= 0``: from the m x m Gram matrix of ``G sqrt(s)``.
        Otherwise a dense ``eigh`` for ``N <= 2000`` and Lanczos (``eigsh``) on
        :meth:`matvec` above.
        """
        D0 = self.D[0] if self.n else 0.0
        if np.all(self.s >= 0) and np.all(self.D == D0) and k <= self.G.shape[1]:
            H = self.G * np.sqrt(self.s)
            vals, vecs = np.linalg.eigh(H.T @ H)
            vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
            pos = vals > 0
            U = np.zeros((self.n, k))
            U[:, pos] = (H @ vecs[:, pos]) / np.sqrt(vals[pos])
            if pos.all():
                return vals + D0, U
        if self.n <= _DENSE_EIGH_MAX or k >= self.n - 1:
            vals, vecs = np.linalg.eigh(self.dense())
            return vals[::-1][:k], vecs[:, ::-1][:, :k]
        from scipy.sparse.linalg import LinearOperator, eigsh  # large N only: import here

        op = LinearOperator((self.n, self.n), matvec=self.matvec, dtype=float)
        v0 = np.ones(self.n) / np.sqrt(self.n)
        vals, vecs = eigsh(op, k=k, which="LA", v0=v0)
        order = np.argsort(vals)[::-1]
        return vals[order], vecs[:, order]


@dataclass(frozen=True, eq=False)
class FactorForm:
    """``(B, F, d)`` with provenance: ``form`` in {"exact", "eigen"}, ``truncation_error``
    (relative Frobenius, 0 for exact) and ``specific_meaning``."""

    B: np.ndarray
    F: np.ndarray
    d: np.ndarray
    form: str
    truncation_error: float
    specific_meaning: str


def exact_allowed(lr: LowRankPlusDiag) -> bool:
    """True when ``B = G, F = diag(s), d = D`` is PSD with strictly positive ``d``."""
    return bool(np.all(lr.s >= 0) and np.all(lr.D > 0))


AUTO_COMPONENTS = 20  # most eigen factors kept when n_components is None


def to_factor_form(
    lr: LowRankPlusDiag, form: str, n_components: int | None, owner: str
) -> FactorForm:
    """Factor form of ``lr`` (see module docstring); ``form`` in {"auto", "exact", "eigen"}.

    ``auto`` takes ``exact`` when :func:`exact_allowed`, else ``eigen`` with
    ``n_components`` factors. Raises ``ValueError`` naming ``owner`` when ``exact`` is asked
    for but not allowed, or when the eigen residual leaves an asset with zero specific
    variance (too many components for the data). ``n_components=None`` keeps the most
    factors, up to :data:`AUTO_COMPONENTS` and ``N - 1``, that leave every asset a
    positive specific variance (so a small panel never fails).
    """
    if form == "auto":
        form = "exact" if exact_allowed(lr) else "eigen"
    if form == "exact":
        if not exact_allowed(lr):
            raise ValueError(
                f"{owner}: factor_form='exact' needs a PSD core and a strictly positive diagonal;"
                " this estimate has none (e.g. no shrinkage). Use factor_form='eigen' or 'auto'."
            )
        return FactorForm(
            lr.G,
            np.diag(lr.s),
            lr.D.copy(),
            "exact",
            0.0,
            "diagonal part of the exact low-rank-plus-diagonal form",
        )
    auto = n_components is None
    k = min(AUTO_COMPONENTS, max(lr.n - 1, 0)) if auto else min(n_components, lr.n)
    vals, V = lr.top_eigen(k)
    diag = lr.diagonal()
    tol = 1e-12 * float(diag.max(initial=0.0))
    d = diag - (V**2) @ vals
    while auto and k > 0 and np.any(d <= tol):  # fewer factors until every d_i > 0
        k -= 1
        vals, V = vals[:k], V[:, :k]
        d = diag - (V**2) @ vals
    if np.any(d <= tol):
        raise ValueError(
            f"{owner}: n_components={n_components} leaves no residual (specific) variance for"
            f" {int(np.sum(d <= tol))} assets; lower n_components"
        )
    total = lr.frobenius_sq()
    err_sq = max(total - float(vals @ vals) - float(d @ d), 0.0)
    err = float(np.sqrt(err_sq / total)) if total > 0 else 0.0
    return FactorForm(
        V,
        np.diag(vals),
        d,
        "eigen",
        err,
        f"residual variance after the top {k} principal components",
    )
