"""What a rule family is: the evaluation of a few related rules, declared."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ptdenial.rules._arrays import _known, _Tri
from ptdenial.rules._context import _Ctx

#: Hit text builder: hit positions -> (variant per hit or None, template fields).
TextBuilder = Callable[[np.ndarray], tuple[np.ndarray | None, dict]]


@dataclasses.dataclass
class _Eval:
    """One rule evaluated on every line.

    ``tri`` holds the flags (``<NA>`` where not evaluated); ``text`` builds
    the template fields of the hits (None: the rule has no hit text);
    ``reason`` says why some lines were not evaluated, when the missing
    columns alone do not. ``unverified`` marks the lines whose hit rests on
    a value not verified (a payer-class default, a figure from secondary
    sources): a hard rule's hit there is reported as soft, and its text says
    so.
    """

    tri: _Tri
    text: TextBuilder | None = None
    reason: str = ""
    unverified: np.ndarray | None = None


#: What a family's function returns: an :class:`_Eval` per rule id it owns,
#: and a float array per gap column it owns.
FamilyResult = tuple[dict[str, _Eval], dict[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class RuleFamily:
    """A family of rules evaluated together (they share their arrays).

    Attributes
    ----------
    name : str
    evaluate : callable
        ``evaluate(ctx) -> (evals, gaps)``, see :data:`FamilyResult`. Vectorized:
        no Python loop over lines.
    rules : tuple of str
        Rule ids of the catalogue it evaluates (each id in exactly one family).
    gaps : tuple of str
        Gap columns it fills (each in exactly one family).
    policies : tuple of str
        Per-line payer policy fields (``ctx.pol``) it reads.
    """

    name: str
    evaluate: Callable[[_Ctx], FamilyResult]
    rules: tuple[str, ...]
    gaps: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()

    def run(self, ctx: _Ctx) -> FamilyResult:
        """Evaluate, and check the result holds exactly the declared rules and gaps."""
        evals, gaps = self.evaluate(ctx)
        if set(evals) != set(self.rules) or set(gaps) != set(self.gaps):
            raise RuntimeError(
                f"rule family {self.name!r} returned rules {sorted(evals)} and gaps "
                f"{sorted(gaps)}; it declares {sorted(self.rules)} and "
                f"{sorted(self.gaps)}."
            )
        return evals, gaps


def _not_evaluated(n: int) -> _Tri:
    """Unknown on every line."""
    return _known(np.zeros(n, bool), np.zeros(n, bool))
