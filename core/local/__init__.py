"""The offline CV engine: parsing, job analysis, matching, tailoring and writing, in plain Python."""

from core.local.parser import parse_cv

__all__ = ["parse_cv"]
