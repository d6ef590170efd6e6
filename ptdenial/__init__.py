"""ptdenial: denial-risk analytics for CPT 97112 (neuromuscular re-education) lines.

The public API a notebook or a job needs is re-exported here; everything else
is reached through its module (``ptdenial.schema``, ``ptdenial.rules`` ...).
"""

from ptdenial.exceptions import (
    ClaimsSchemaError,
    DataQualityWarning,
    InputFileError,
    ModelVersionError,
    PtdenialError,
)
from ptdenial.io import iter_claim_batches, read_claims, write_table
from ptdenial.reference import load_reference
from ptdenial.schema import SCHEMA_VERSION, derive_outcomes, validate_claims

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    "ClaimsSchemaError",
    "DataQualityWarning",
    "InputFileError",
    "ModelVersionError",
    "PtdenialError",
    "derive_outcomes",
    "iter_claim_batches",
    "load_reference",
    "read_claims",
    "validate_claims",
    "write_table",
]
