"""A scenario's changes resolved against the base config: what to refit, rebuild, re-solve.

Each change ``path: value`` (:mod:`portfolio.studies.spec`) lands in one of three places:

- **re-solve** (the built optimizer's parameters, warm-started): a constraint limit whose
  base value is set (same fields, same groups), ``objective.risk_aversion``,
  ``objective.turnover_penalty``, ``objective.te_cap`` (mode ``max_alpha_te_cap``);
- **finish**: ``trades.min_trade_base`` (lot rounding only);
- **rebuild**: anything else. Alpha and risk are refitted only when their own setting
  changes (``fund``, ``universe``, ``benchmark``, ``alpha``, ``risk``): the fit key.

The changed config (every change applied, validated like the base config) is kept on the
scenario, so any scenario can also be run on its own as a plain rebalance.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portfolio.config import RebalanceConfig, parse_config
from portfolio.errors import ConfigError

__all__ = ["Scenario", "resolve_scenario", "FIT_SECTIONS", "SOLVE_OBJECTIVE_FIELDS"]

FIT_SECTIONS = ("fund", "universe", "benchmark", "alpha", "risk")
SOLVE_OBJECTIVE_FIELDS = ("risk_aversion", "turnover_penalty", "te_cap")
_PAIR = {"min": 0, "max": 1, "lo": 0, "hi": 1}


@dataclass(eq=False)
class Scenario:
    """A scenario resolved against the base config.

    Attributes
    ----------
    name : str
    changes : dict
        ``{path: value}`` as given.
    raw, build_raw : dict
        The base config (as JSON data) with every change applied (:meth:`config`: a plain
        rebalance of it is this scenario's row), and with the changes that are not
        re-solves (:meth:`build_config`: the config the optimizer is built from).
    fit_key, build_key : str
        Canonical JSON of the alpha / risk setting and of ``build_raw``.
    overrides : dict
        Keyword arguments of :meth:`portfolio.rebalance.Rebalancer.solve`.
    min_trade_base : float or None
        ``trades.min_trade_base`` for lot rounding when changed.
    """

    name: str
    changes: dict
    raw: dict
    build_raw: dict
    fit_key: str
    build_key: str
    overrides: dict = field(default_factory=dict)
    min_trade_base: float | None = None

    def config(self) -> RebalanceConfig:
        """The base config with every change applied (validated)."""
        return parse_config(self.raw, source=f"scenario {self.name!r}")

    def build_config(self) -> RebalanceConfig:
        """The config the optimizer is built from (validated)."""
        return parse_config(self.build_raw, source=f"scenario {self.name!r}")

    def describe(self) -> str:
        """``path=value; ...`` (``base`` when nothing changes)."""
        if not self.changes:
            return "base"
        return "; ".join(f"{k}={_text(v)}" for k, v in self.changes.items())


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return str(v)


def canonical(obj: Any) -> str:
    """Sorted-key JSON of ``obj`` (dates and tuples as text / lists): a grouping key."""
    return json.dumps(obj, sort_keys=True, default=str)


def constraint_refs(config: RebalanceConfig) -> tuple[list, dict[str, int]]:
    """The base constraint objects and ``{reference: index}``: every label, and every kind
    that only one constraint has."""
    from constraints import build_constraint

    objs = [build_constraint(s, f"constraints[{i}]") for i, s in enumerate(config.constraints)]
    refs = {c.label: i for i, c in enumerate(objs)}
    kinds = [c.kind for c in objs]
    for i, k in enumerate(kinds):
        if kinds.count(k) == 1:
            refs.setdefault(k, i)
    return objs, refs


def _split_constraint_path(rest: str, refs: Mapping[str, int], where: str) -> tuple[int, list]:
    """``"China exposure.bounds.China.max"`` -> ``(index, ["bounds", "China", "max"])``."""
    best = None
    for ref in refs:
        if rest.startswith(ref + ".") and (best is None or len(ref) > len(best)):
            best = ref
    if best is None:
        raise ConfigError(
            f"{where}: unknown constraint; known names: {sorted(refs)} "
            "(write constraints.<name>.<field>)"
        )
    parts = rest[len(best) + 1 :].split(".")
    if not all(parts):
        raise ConfigError(f"{where}: empty field name")
    return refs[best], parts


def _set_in_spec(spec: dict, parts: list[str], value: Any, base_obj, where: str) -> None:
    """Set ``parts`` (field[.key][.min|.max]) of a constraint spec to ``value``."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(base_obj)}
    name = parts[0]
    if name not in fields or name == "kind":
        raise ConfigError(f"{where}: unknown field {name!r} of {base_obj.kind}; "
                          f"fields: {sorted(fields - {'kind'})}")  # fmt: skip
    rest = parts[1:]
    if not rest:
        spec[name] = value
        return
    current = getattr(base_obj, name)
    if rest[-1] in _PAIR and (len(rest) == 1 or isinstance(current, Mapping)):
        pair_index, rest = _PAIR[rest[-1]], rest[:-1]
    else:
        pair_index = None
    target = spec
    key = name
    if rest:  # a mapping field: bounds.<group>, overrides.<asset>, by_group.<group>
        if len(rest) != 1 or not isinstance(current, Mapping | type(None)):
            raise ConfigError(f"{where}: {name} is not a mapping of groups")
        sub = dict(spec.get(name) or {})
        group = rest[0]
        if group not in sub and pair_index is not None:
            default = getattr(base_obj, "default", None)
            if default is None:
                raise ConfigError(f"{where}: {name} has no entry {group!r}; "
                                  f"entries: {sorted(sub)}")  # fmt: skip
            sub[group] = list(default)
        spec[name] = sub
        target, key = sub, group
    if pair_index is None:
        target[key] = value
        return
    pair = target.get(key) if key in target else getattr(base_obj, key, None)
    if pair is None or isinstance(pair, str) or len(pair) != 2:
        raise ConfigError(f"{where}: {key} is not a [min, max] pair")
    pair = list(pair)
    pair[pair_index] = value
    target[key] = pair


def _solve_only(base_obj, new_obj, name: str) -> bool:
    """A change of field ``name`` that the built optimizer takes as a parameter: the base
    value is set and a mapping keeps its keys (the rows and sides stay the same)."""
    old, new = getattr(base_obj, name), getattr(new_obj, name)
    if old is None or new is None:
        return False
    if isinstance(old, Mapping):
        return set(old) == set(new)
    return True


def _set_path(raw: dict, parts: list[str], value: Any, where: str) -> None:
    node = raw
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            known = sorted(node) if isinstance(node, dict) else []
            at = ".".join(parts[:i]) or "the config"
            raise ConfigError(f"{where}: unknown field {part!r} in {at}; known: {known}")
        if i == len(parts) - 1:
            node[part] = value
        else:
            node = node[part]


def resolve_scenario(
    base: RebalanceConfig,
    name: str,
    changes: Mapping[str, Any],
    base_raw: dict | None = None,
    refs: tuple | None = None,
    validate: bool = True,
) -> Scenario:
    """Resolve ``changes`` against ``base`` (see the module docstring).

    Raises :class:`ConfigError` naming the scenario and the field: an unknown path or
    constraint name, a value of the wrong type, a data path (inputs cannot change).
    ``validate=False`` skips the validation of the whole changed config (a grid validates
    each of its values once, then combines them).
    """
    from constraints import build_constraint

    who = f"scenario {name!r}"
    base_raw = base_raw if base_raw is not None else base.model_dump(mode="json")
    objs, ref_index = refs if refs is not None else constraint_refs(base)
    full = copy.deepcopy(base_raw)
    build = copy.deepcopy(base_raw)
    overrides: dict[str, Any] = {}
    cons_over: dict[str, dict] = {}
    min_trade = None
    touched: dict[int, list[tuple[list[str], str]]] = {}
    mode_changed = any(p == "objective.mode" for p in changes)
    for path, value in changes.items():
        where = f"{who}: {path}"
        parts = path.split(".")
        if parts[0] == "constraints":
            ci, fparts = _split_constraint_path(path[len("constraints.") :], ref_index, where)
            _set_in_spec(full["constraints"][ci], fparts, value, objs[ci], where)
            touched.setdefault(ci, []).append((fparts, where))
            continue
        if parts[0] == "data":
            raise ConfigError(f"{where}: data paths cannot change in a what-if (inputs stay)")
        _set_path(full, parts, value, where)
        if parts[0] == "objective" and len(parts) == 2 and parts[1] in SOLVE_OBJECTIVE_FIELDS:
            if parts[1] == "te_cap" and (mode_changed or base.objective.mode != "max_alpha_te_cap"):
                if not mode_changed:
                    raise ConfigError(
                        f"{where}: te_cap applies with objective.mode max_alpha_te_cap; "
                        "change the tracking-error constraint instead, or set the mode"
                    )
                _set_path(build, parts, value, where)
                continue
            overrides[parts[1]] = value
        elif parts == ["trades", "min_trade_base"]:
            min_trade = value
        else:
            _set_path(build, parts, value, where)
    for ci, items in touched.items():
        where = items[0][1]
        try:
            new_obj = build_constraint(full["constraints"][ci], where=f"constraints[{ci}]")
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if all(_solve_only(objs[ci], new_obj, fp[0]) for fp, _ in items):
            cons_over[objs[ci].label] = {fp[0]: getattr(new_obj, fp[0]) for fp, _ in items}
        else:
            build["constraints"][ci] = full["constraints"][ci]
    if validate:
        config = parse_config(full, source=who)
        if build != full:
            parse_config(build, source=who)
        typed = {k: getattr(config.objective, k) for k in SOLVE_OBJECTIVE_FIELDS}
        if min_trade is not None:
            min_trade = config.trades.min_trade_base
    else:
        typed = {k: float(v) for k, v in overrides.items() if k in SOLVE_OBJECTIVE_FIELDS}
        min_trade = None if min_trade is None else float(min_trade)
    for k in SOLVE_OBJECTIVE_FIELDS:
        if k in overrides:
            overrides[k] = typed[k]
    if cons_over:
        overrides["constraint_overrides"] = cons_over
    return Scenario(
        name=name,
        changes=dict(changes),
        raw=full,
        build_raw=build,
        fit_key=canonical({k: build[k] for k in FIT_SECTIONS}),
        build_key=canonical(build),
        overrides=overrides,
        min_trade_base=min_trade,
    )
