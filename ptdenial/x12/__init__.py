"""X12 835 remittances and 837P claims into the claim-line table.

pyx12 reads and checks the files (envelope counts, control numbers, segment
identifiers); ptdenial's own flattener turns segments into one row per service
line. See :func:`read_837p`, :func:`read_835`, :func:`join_remits`,
:func:`read_export` and the fixture writers :func:`write_837p` /
:func:`write_835`.
"""

from ptdenial.x12._codes import (
    FILING_CODE_TO_PAYER_CLASS,
    KEY_ENV,
    PAYER_CLASS_TO_FILING_CODE,
    TAXONOMY_FOR_CREDENTIAL,
    credential_from_taxonomy,
    payer_class_from_filing_code,
    pseudonymize_patient,
    resolve_key,
)
from ptdenial.x12._flatten import (
    ADJUDICATED_CPT_CODE,
    CLAIM_ADJUSTMENT_CODES,
    CLAIM_FREQUENCY,
    CLAIM_LEVEL,
    CLAIM_REMARK_CODES,
    CLAIM_STATUS,
    ICD9_DIAGNOSIS_CODES,
    LINE_CONTROL_NUMBER,
    PAID_UNITS,
    PAYER_CLAIM_CONTROL_NUMBER,
    PAYER_NAME,
    REMIT_CLAIM_INDEX,
    SOURCE_FILE,
    X12_VERSION,
)
from ptdenial.x12._ingest import Ingest, apply_payer_classes, ingest
from ptdenial.x12._join import (
    MATCH_METHOD,
    UNMATCHED_REASON,
    DocsJoin,
    Mapping,
    RemitJoin,
    join_docs,
    join_remits,
    latest_remits,
    read_export,
    read_mapping,
)
from ptdenial.x12._lexer import Segment, X12FormatError, iter_segments
from ptdenial.x12._read import (
    CLAIM_COLUMNS_837P,
    REMIT_COLUMNS_835,
    X12Read,
    net_reversals,
    read_835,
    read_837p,
    read_x12,
    x12_files,
)
from ptdenial.x12._writer import FIXTURE_PATIENT_NAME, write_835, write_837p

__all__ = [
    "ingest",
    "Ingest",
    "apply_payer_classes",
    "join_remits",
    "latest_remits",
    "RemitJoin",
    "read_export",
    "read_mapping",
    "Mapping",
    "join_docs",
    "DocsJoin",
    "write_837p",
    "write_835",
    "FIXTURE_PATIENT_NAME",
    "MATCH_METHOD",
    "UNMATCHED_REASON",
    "read_835",
    "read_837p",
    "read_x12",
    "X12Read",
    "x12_files",
    "net_reversals",
    "iter_segments",
    "Segment",
    "X12FormatError",
    "resolve_key",
    "pseudonymize_patient",
    "payer_class_from_filing_code",
    "credential_from_taxonomy",
    "FILING_CODE_TO_PAYER_CLASS",
    "PAYER_CLASS_TO_FILING_CODE",
    "TAXONOMY_FOR_CREDENTIAL",
    "KEY_ENV",
    "CLAIM_COLUMNS_837P",
    "REMIT_COLUMNS_835",
    "LINE_CONTROL_NUMBER",
    "CLAIM_STATUS",
    "PAID_UNITS",
    "ADJUDICATED_CPT_CODE",
    "PAYER_CLAIM_CONTROL_NUMBER",
    "CLAIM_ADJUSTMENT_CODES",
    "CLAIM_REMARK_CODES",
    "CLAIM_LEVEL",
    "REMIT_CLAIM_INDEX",
    "SOURCE_FILE",
    "PAYER_NAME",
    "ICD9_DIAGNOSIS_CODES",
    "CLAIM_FREQUENCY",
    "X12_VERSION",
]
