"""ptdenial: denial-risk analytics for CPT 97112 (neuromuscular re-education) lines.

The public API a notebook or a job needs is re-exported here; everything else
is reached through its module (``ptdenial.schema``, ``ptdenial.rules`` ...).
Heavy modules (model, scoring, reports) are imported on first use.
"""

import importlib

from ptdenial._utils import __version__
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

# name -> module, imported lazily (PEP 562) so `import ptdenial` stays light
_LAZY = {
    "make_claims": "ptdenial.datasets",
    "load_sample_claims": "ptdenial.datasets",
    "apply_rules": "ptdenial.rules",
    "rule_catalogue": "ptdenial.rules",
    "DenialRiskModel": "ptdenial.model",
    "train_and_evaluate": "ptdenial.model",
    "save_model": "ptdenial.model",
    "load_model": "ptdenial.model",
    "denial_metrics": "ptdenial.evaluation",
    "denial_rates": "ptdenial.analytics",
    "carc_pareto": "ptdenial.analytics",
    "score_claims": "ptdenial.scoring",
    "read_835": "ptdenial.x12",
    "read_837p": "ptdenial.x12",
    "join_remits": "ptdenial.x12",
}

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
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ptdenial' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
