"""scikit-learn's estimator conventions without importing scikit-learn.

Importing ``sklearn.base`` pulls in scikit-learn's utilities and, through them,
``scipy.stats``: about 1.8 s of a 2.3 s demo run. The alpha transformers, blenders
and risk estimators only need the conventions -- ``__init__`` stores parameters,
``get_params`` / ``set_params`` read and write them, ``fit`` returns ``self``,
learned state ends in ``_`` -- so they inherit from the small classes here.
scikit-learn's own tools (``clone``, ``Pipeline``, ``GridSearchCV``) still accept
them: ``clone`` needs ``get_params(deep=False)`` and the constructor, and the tags
sklearn asks for are produced by sklearn itself, imported only when it asks.
"""

from __future__ import annotations

import inspect

__all__ = ["BaseEstimator", "NotFittedError", "TransformerMixin", "check_is_fitted"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (same bases as scikit-learn's)."""


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(p.name for p in params if p.name != "self" and p.kind not in skip)

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (with ``name__sub`` entries of nested estimators if ``deep``)."""
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params) -> BaseEstimator:
        """Set parameters (``name__sub`` reaches a nested estimator); returns ``self``."""
        valid = self.get_params(deep=True)
        nested: dict[str, dict] = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head not in valid:
                raise ValueError(
                    f"Invalid parameter {head!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {self._get_param_names()!r}."
                )
            if sep:
                nested.setdefault(head, {})[sub] = value
            else:
                setattr(self, head, value)
        for head, sub in nested.items():
            getattr(self, head).set_params(**sub)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__).parameters
        parts = []
        for key in self._get_param_names():
            value = getattr(self, key)
            default = sig[key].default
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_tags__(self):
        # only scikit-learn calls this, so scikit-learn is already imported
        from sklearn.base import BaseEstimator as SkBase

        tags = SkBase.__sklearn_tags__(self)
        if isinstance(self, TransformerMixin):
            from sklearn.utils import TransformerTags

            tags.transformer_tags = TransformerTags()
        return tags


class TransformerMixin:
    """``fit_transform(X, y) = fit(X, y).transform(X)``."""

    def fit_transform(self, X, y=None, **fit_params):
        if y is None:
            return self.fit(X, **fit_params).transform(X)
        return self.fit(X, y, **fit_params).transform(X)


def check_is_fitted(estimator, attributes: str | list[str]) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has every learned attribute."""
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, a) for a in names):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def _same(a, b) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # arrays and frames compare element-wise
        return False
