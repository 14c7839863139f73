"""Vendor model files: round trip and validation messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio.errors import InputError
from portfolio.risk import load_vendor_model


def _write(tmp_path, ext="csv"):
    rng = np.random.default_rng(0)
    ids = [f"V{i}" for i in range(6)]
    factors = ["mkt", "value", "size"]
    B = rng.standard_normal((6, 3))
    B[0, 1] = 0.0  # omitted from the long file: sparse format means zero
    A = rng.standard_normal((3, 3))
    F = A @ A.T * 0.01
    vol = rng.uniform(0.1, 0.4, 6)
    rows = [(a, f, B[i, k]) for i, a in enumerate(ids) for k, f in enumerate(factors) if B[i, k]]
    exp = pd.DataFrame(rows, columns=["asset_id", "factor", "exposure"])
    cov = pd.DataFrame(F, columns=factors).assign(factor=factors)[["factor", *factors]]
    spec = pd.DataFrame({"asset_id": ids, "specific_vol": vol})
    paths = [tmp_path / f"{n}.{ext}" for n in ("exposures", "factor_cov", "specific")]
    for frame, p in zip((exp, cov, spec), paths, strict=True):
        frame.to_parquet(p) if ext == "parquet" else frame.to_csv(p, index=False)
    return paths, ids, factors, B, F, vol


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_round_trip(tmp_path, ext):
    paths, ids, factors, B, F, vol = _write(tmp_path, ext)
    m = load_vendor_model(*paths)
    assert list(m.asset_ids) == ids and list(m.factor_names) == factors
    np.testing.assert_allclose(m.exposures, B, rtol=1e-12)
    np.testing.assert_allclose(m.factor_cov, F, rtol=1e-12)
    np.testing.assert_allclose(m.specific_vol().to_numpy(), vol, rtol=1e-12)


def test_every_problem_reported_at_once(tmp_path):
    paths, *_ = _write(tmp_path)
    exp = pd.read_csv(paths[0])
    exp.loc[len(exp)] = ["V1", "mkt", 0.5]  # duplicate pair
    exp.loc[len(exp)] = ["V9", "quality", 1.0]  # unknown asset and factor
    exp.loc[0, "exposure"] = np.nan
    exp.to_csv(paths[0], index=False)
    with pytest.raises(InputError) as info:
        load_vendor_model(*paths)
    msg = str(info.value)
    assert msg.startswith("exposures.csv: 4 problems")
    for part in (
        "('V1', 'mkt')",
        "exposure missing or non-numeric for ['V0']",
        "'quality'",
        "'V9'",
    ):
        assert part in msg


def test_bad_covariance_and_specific(tmp_path):
    paths, *_ = _write(tmp_path)
    cov = pd.read_csv(paths[1])
    cov.loc[0, "value"] = cov.loc[0, "value"] + 1.0  # asymmetric
    cov.to_csv(paths[1], index=False)
    with pytest.raises(
        InputError, match="factor_cov.csv: 1 problem: factor covariance is not symmetric"
    ):
        load_vendor_model(*paths)
    paths, *_ = _write(tmp_path)
    spec = pd.read_csv(paths[2])
    spec.loc[2, "specific_vol"] = -0.1
    spec.drop(columns=[]).rename(columns={}).to_csv(paths[2], index=False)
    with pytest.raises(InputError, match=r"specific.csv: .*<= 0 for \['V2'\]"):
        load_vendor_model(*paths)
    spec.drop(columns="specific_vol").to_csv(paths[2], index=False)
    with pytest.raises(InputError, match="missing column 'specific_vol'"):
        load_vendor_model(*paths)
