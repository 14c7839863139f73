"""Limits of a what-if study, shared by the scenarios file and ``active-etf whatif``.

Plain data, so that building the command line (``active-etf --help``, every command's
parser) does not load the scenarios file's pydantic models.
"""

__all__ = ["DEFAULT_MAX_SCENARIOS"]

#: Largest number of scenarios a study runs unless told otherwise (``--max-scenarios``).
DEFAULT_MAX_SCENARIOS = 10_000
