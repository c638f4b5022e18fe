"""The unit of credit as it reads in a sentence: singular after exactly one, plural otherwise (0.5 credits).

Scoring writes sentences about amounts (a repeat's share, a tier, a limit's cut) and reports write them too, so the
rule lives below both.
"""

from __future__ import annotations

from decimal import Decimal

_IRREGULAR_ENDINGS = ("s", "x", "z", "ch", "sh")


def plural(unit: str) -> str:
    """The unit's plural, English rules: credit → credits, CE hour → CE hours, class → classes, study → studies."""
    if not unit:
        return unit
    lower = unit.lower()
    if lower.endswith(_IRREGULAR_ENDINGS):
        return unit + "es"
    if lower.endswith("y") and len(unit) > 1 and lower[-2] not in "aeiou":
        return unit[:-1] + "ies"
    return unit + "s"


def unit_for(amount: Decimal, unit: str) -> str:
    """The unit as it reads after `amount`: singular for exactly one, plural for anything else (0.5 credits)."""
    return unit if amount == 1 else plural(unit)
