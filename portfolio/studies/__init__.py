"""What-if studies: scenarios, grids and frontiers on one fitted, built optimizer.

``Study(config, data).add(...).grid(...).frontier(...).run()`` (:mod:`.study`); the
scenarios file (:mod:`.spec`); how changes split into refit / rebuild / re-solve
(:mod:`.changes`); the engine (:mod:`.engine`); comparison rows (:mod:`.rows`);
frontiers and cost curves (:mod:`.frontier`); ``active-etf whatif`` (:mod:`.cli`).

Names are imported on first use, so ``active-etf --help`` does not load the pipeline.
"""

from importlib import import_module

__all__ = [
    "FrontierSpec",
    "Scenario",
    "Study",
    "StudyFile",
    "StudyResult",
    "load_study_file",
    "parse_study_file",
    "resolve_scenario",
]

_WHERE = {
    "FrontierSpec": "spec",
    "StudyFile": "spec",
    "load_study_file": "spec",
    "parse_study_file": "spec",
    "Scenario": "changes",
    "resolve_scenario": "changes",
    "Study": "study",
    "StudyResult": "study",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"portfolio.studies.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'portfolio.studies' has no attribute {name!r}")
