"""An independent claims world: a second simulator of a PT practice's claim lines.

Written from scratch against SCHEMA.md and the domain brief, with its own
data-generating process; it shares no code with ``ptdenial.datasets`` and
imports nothing from ``ptdenial``. Use it to check the library on claims it
was not built around.

>>> from bench.worlds import make_world
>>> claims, truth = make_world(1_000, seed=0)
>>> list(truth.columns[:3])
['claim_id', 'line_number', 'payer_id']
"""

from bench.worlds._catalog import PAYERS, Payer
from bench.worlds._export import (
    TYPINGS,
    as_of_night,
    history_as_of,
    night_batch,
    text_table,
    warehouse_table,
    write_world,
)
from bench.worlds._generate import make_world
from bench.worlds._params import PayerEdit, PolicyChange, WorldParams
from bench.worlds._summary import auc, summarize

__all__ = [
    "PAYERS",
    "TYPINGS",
    "Payer",
    "PayerEdit",
    "PolicyChange",
    "WorldParams",
    "as_of_night",
    "auc",
    "history_as_of",
    "make_world",
    "night_batch",
    "summarize",
    "text_table",
    "warehouse_table",
    "write_world",
]
