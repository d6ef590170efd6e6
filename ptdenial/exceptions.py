"""Errors and warnings raised by ptdenial: every class is defined here.

Every error subclasses :class:`PtdenialError` and the matching builtin, so
callers can catch either ``PtdenialError`` or, for example, ``ValueError``.
The modules that raise an error also re-export it where users already import
it from (``ptdenial.config.ConfigError``, ``ptdenial.x12.X12FormatError``,
``ptdenial.spark.SparkJobError`` ...); it is the same class.

Examples
--------
>>> from ptdenial.exceptions import ConfigError, PtdenialError
>>> issubclass(ConfigError, PtdenialError) and issubclass(ConfigError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "PtdenialError",
    "ClaimsSchemaError",
    "InputFileError",
    "ReferenceDataError",
    "ModelVersionError",
    "ConfigError",
    "X12FormatError",
    "SparkUnavailableError",
    "SparkJobError",
    "MemoryLimitError",
    "DataQualityWarning",
]


class PtdenialError(Exception):
    """Base class of every error raised by ptdenial."""


class ClaimsSchemaError(PtdenialError, ValueError):
    """A claims table cannot be used at all (e.g. required columns are missing).

    Parameters
    ----------
    message : str
        Human-readable message naming the file, the columns and the fix.
    missing : list of str, optional
        Required columns that are absent.
    source : str, optional
        The file (or description of the frame) that was read.
    """

    def __init__(self, message, *, missing=None, source=None):
        super().__init__(message)
        self.missing = list(missing or [])
        self.source = source


class InputFileError(PtdenialError, OSError):
    """A file cannot be read: wrong format, unreadable, or empty."""


class ReferenceDataError(PtdenialError, ValueError):
    """A reference table (shipped or user override) is malformed."""


class ModelVersionError(PtdenialError, RuntimeError):
    """A model file was refused: schema or library versions do not match."""


class ConfigError(PtdenialError, ValueError):
    """A setting has a wrong type or value (names the setting and its source).

    Attributes
    ----------
    setting : str or None
        The setting at fault, when one is (set by :mod:`ptdenial.config`).
    """

    setting: str | None = None


class X12FormatError(InputFileError):
    """An X12 file is malformed; the message names the file and the segment.

    Parameters
    ----------
    message : str
        Human-readable description with the fix.
    path : str, optional
        The file.
    segment : int, optional
        1-based position of the segment among the file's segments.
    segment_id : str, optional
        Identifier of the offending segment (``SE``, ``CLP``, ...).
    """

    def __init__(self, message, *, path=None, segment=None, segment_id=None):
        super().__init__(message)
        self.path = path
        self.segment = segment
        self.segment_id = segment_id

    def __str__(self):  # OSError's own __str__ would show errno formatting
        return self.args[0]


class SparkUnavailableError(PtdenialError, ImportError):
    """PySpark (or the Java it needs) is not available."""


class SparkJobError(PtdenialError, RuntimeError):
    """A Spark job of the scoring run failed (the message carries Spark's reason)."""


class MemoryLimitError(PtdenialError, MemoryError):
    """A job would need more memory than allowed; raised before it starts.

    The message names the estimate, the limit and what to do instead
    (``ptdenial train`` exits with code 4).
    """


class DataQualityWarning(UserWarning):
    """Input data is usable but suspicious (e.g. rows were quarantined)."""
