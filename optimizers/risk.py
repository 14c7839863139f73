"""The factor-form risk model the optimizer consumes.

``S = B F B' + diag(d)`` with ``B`` the N x K exposures, ``F`` the K x K factor
covariance and ``d`` the N specific variances, all annualised (daily x 252).
A dense N x N covariance is never needed by the optimizer; :meth:`covariance`
exists for small-N checks and reports only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FactorRiskModel"]


@dataclass(frozen=True, eq=False)
class FactorRiskModel:
    r"""Risk in factor form: ``S = B F B' + diag(d)`` (annualised, decimal returns).

    Parameters
    ----------
    asset_ids : pd.Index
        Unique asset identifiers, the row order of ``exposures`` and ``specific_var``.
    factor_names : pd.Index
        Names of the K factors, the column order of ``exposures``.
    exposures : ndarray of shape (N, K)
        ``B``, exposure of each asset to each factor.
    factor_cov : ndarray of shape (K, K)
        ``F``, annualised factor covariance; symmetric positive semi-definite.
    specific_var : ndarray of shape (N,)
        ``d``, annualised specific (idiosyncratic) variance; non-negative.
    info : dict
        Free-form provenance: estimator name, truncation error, proxied assets, ...

    Notes
    -----
    ``a' S a = ||L' B' a||^2 + sum(d * a^2)`` where ``L L' = F``; see
    :meth:`factor_loadings_sqrt`.
    """

    asset_ids: pd.Index
    factor_names: pd.Index
    exposures: np.ndarray
    factor_cov: np.ndarray
    specific_var: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = pd.Index(self.asset_ids)
        names = pd.Index(self.factor_names)
        B = np.asarray(self.exposures, dtype=float)
        F = np.asarray(self.factor_cov, dtype=float)
        d = np.asarray(self.specific_var, dtype=float).reshape(-1)
        n, k = len(ids), len(names)
        problems = []
        if not ids.is_unique:
            problems.append(f"duplicate asset_ids {list(ids[ids.duplicated()][:10])}")
        if B.shape != (n, k):
            problems.append(f"exposures has shape {B.shape}, expected ({n}, {k})")
        if F.shape != (k, k):
            problems.append(f"factor_cov has shape {F.shape}, expected ({k}, {k})")
        elif k and not np.allclose(F, F.T, rtol=1e-10, atol=1e-14):
            problems.append("factor_cov is not symmetric")
        if d.shape != (n,):
            problems.append(f"specific_var has shape {d.shape}, expected ({n},)")
        else:
            bad = ~np.isfinite(d) | (d < 0)
            if bad.any():
                problems.append(f"specific_var negative or not finite for {list(ids[bad][:10])}")
        if B.shape == (n, k) and not np.isfinite(B).all():
            rows = ~np.isfinite(B).all(axis=1)
            problems.append(f"exposures not finite for {list(ids[rows][:10])}")
        if problems:
            raise ValueError("FactorRiskModel: " + "; ".join(problems))
        object.__setattr__(self, "asset_ids", ids)
        object.__setattr__(self, "factor_names", names)
        object.__setattr__(self, "exposures", B)
        object.__setattr__(self, "factor_cov", 0.5 * (F + F.T))
        object.__setattr__(self, "specific_var", d)

    @classmethod
    def from_covariance(cls, covariance, asset_ids=None, *, tol: float = 1e-10) -> FactorRiskModel:
        r"""The exact factor form of a dense covariance ``S`` (annualised), by eigen split.

        With ``S = V diag(lam) V'`` and ``lam_min`` its smallest eigenvalue,

            ``S = V_+ diag(lam_+ - lam_min) V_+' + lam_min I``

        so ``B = V_+`` (the eigenvectors with ``lam > lam_min``), ``F = diag(lam_+ -
        lam_min)`` and ``d = lam_min`` for every asset: exact, not a truncation. When
        ``S`` is positive definite, ``d > 0`` and the optimizer's certified dual method
        applies; a singular ``S`` (e.g. a sample covariance from fewer days than assets)
        gets ``d = 0`` and is solved by the conic fallback.

        Parameters
        ----------
        covariance : DataFrame or array of shape (N, N)
            Symmetric positive semi-definite; a DataFrame's index gives the asset ids.
        asset_ids : sequence of str, optional
            Asset ids (default: the DataFrame's index, else ``"0" .. "N-1"``).
        tol : float
            Relative tolerance: eigenvalues above ``-tol * lam_max`` count as
            non-negative (clipped to 0); eigenvalues within ``tol * lam_max`` of
            ``lam_min`` go to the diagonal.
        """
        if asset_ids is None:
            index = getattr(covariance, "index", None)
            asset_ids = index if index is not None else [str(i) for i in range(len(covariance))]
        S = np.asarray(covariance, dtype=float)
        if S.ndim != 2 or S.shape[0] != S.shape[1]:
            raise ValueError(
                f"FactorRiskModel.from_covariance: expected a square matrix, got shape {S.shape}"
            )
        if not np.isfinite(S).all():
            raise ValueError(
                "FactorRiskModel.from_covariance: the covariance has non-finite entries"
            )
        if not np.allclose(S, S.T, rtol=1e-10, atol=1e-14 * max(np.abs(S).max(initial=0.0), 1.0)):
            raise ValueError("FactorRiskModel.from_covariance: the covariance is not symmetric")
        lam, V = np.linalg.eigh(0.5 * (S + S.T))
        top = float(max(lam.max(initial=0.0), 0.0))
        if lam.size and lam[0] < -tol * top:
            raise ValueError(
                "FactorRiskModel.from_covariance: the covariance is not positive semi-definite "
                f"(smallest eigenvalue {lam[0]:.3g}, largest {top:.3g})"
            )
        lam = np.clip(lam, 0.0, None)
        floor = float(lam[0]) if lam.size else 0.0
        keep = lam - floor > tol * top
        k = int(keep.sum())
        return cls(
            asset_ids=pd.Index(asset_ids).astype(str),
            factor_names=pd.Index([f"eig_{i + 1}" for i in range(k)]),
            exposures=V[:, keep][:, ::-1],
            factor_cov=np.diag((lam[keep] - floor)[::-1]),
            specific_var=np.full(len(lam), floor),
            info={
                "source": "dense covariance, exact eigen split",
                "specific": "smallest eigenvalue",
            },
        )

    @property
    def n_assets(self) -> int:
        return len(self.asset_ids)

    @property
    def n_factors(self) -> int:
        return len(self.factor_names)

    def factor_cov_sqrt(self) -> np.ndarray:
        """``L`` with ``L L' = F`` (K x K), from an eigendecomposition (PSD-safe)."""
        if self.n_factors == 0:
            return np.zeros((0, 0))
        vals, vecs = np.linalg.eigh(self.factor_cov)
        vals = np.clip(vals, 0.0, None)
        return vecs * np.sqrt(vals)

    def factor_loadings_sqrt(self) -> np.ndarray:
        """``G = B L`` (N x K), so that ``a' S a = ||G' a||^2 + sum(d a^2)``."""
        return self.exposures @ self.factor_cov_sqrt()

    def covariance(self) -> np.ndarray:
        """Dense ``S = B F B' + diag(d)``. For small N, checks and reports only."""
        S = self.exposures @ self.factor_cov @ self.exposures.T
        S[np.diag_indices_from(S)] += self.specific_var
        return S

    def variance(self, weights: np.ndarray | pd.Series) -> float:
        """``w' S w`` computed in factor form (no N x N matrix)."""
        w = self._align(weights)
        f = self.exposures.T @ w
        return float(f @ self.factor_cov @ f + np.sum(self.specific_var * w * w))

    def volatility(self, weights: np.ndarray | pd.Series) -> float:
        """``sqrt(w' S w)``, annualised."""
        return float(np.sqrt(max(self.variance(weights), 0.0)))

    def asset_vol(self) -> pd.Series:
        """Total volatility of each asset, ``sqrt(diag(S))``, annualised."""
        sys_var = ((self.exposures @ self.factor_cov) * self.exposures).sum(axis=1)
        return pd.Series(np.sqrt(sys_var + self.specific_var), index=self.asset_ids)

    def specific_vol(self) -> pd.Series:
        """Residual (specific) volatility ``sqrt(d)``, annualised."""
        return pd.Series(np.sqrt(self.specific_var), index=self.asset_ids)

    def subset(self, asset_ids) -> FactorRiskModel:
        """The model restricted to ``asset_ids`` (in that order); unknown ids raise."""
        ids = pd.Index(asset_ids)
        pos = self.asset_ids.get_indexer(ids)
        if (pos < 0).any():
            raise KeyError(f"FactorRiskModel has no risk for assets {list(ids[pos < 0][:10])}")
        return FactorRiskModel(
            asset_ids=ids,
            factor_names=self.factor_names,
            exposures=self.exposures[pos],
            factor_cov=self.factor_cov,
            specific_var=self.specific_var[pos],
            info=dict(self.info),
        )

    def _align(self, weights) -> np.ndarray:
        if isinstance(weights, pd.Series):
            missing = weights.index.difference(self.asset_ids)
            if len(missing):
                raise KeyError(f"weights for assets with no risk: {list(missing[:10])}")
            return weights.reindex(self.asset_ids).fillna(0.0).to_numpy(dtype=float)
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape != (self.n_assets,):
            raise ValueError(f"weights have shape {w.shape}, expected ({self.n_assets},)")
        return w
