"""Errors and warnings raised by ptdenial.

Every error subclasses :class:`PtdenialError` and the matching builtin, so
callers can catch either ``PtdenialError`` or, for example, ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "PtdenialError",
    "ClaimsSchemaError",
    "InputFileError",
    "ReferenceDataError",
    "ModelVersionError",
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


class DataQualityWarning(UserWarning):
    """Input data is usable but suspicious (e.g. rows were quarantined)."""
