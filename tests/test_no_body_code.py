"""Adding a body never needs Python: no body's name, unit, category, rate label or grade appears in the package.

The words are collected from the bundled specs themselves, so a new spec extends the check automatically.
"""

from __future__ import annotations

import re
from pathlib import Path

from ceruleng.engine import load_specs

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "ceruleng"


def _policy_words() -> set[str]:
    words: set[str] = set()
    for spec in load_specs([str(ROOT / "rules")]).values():
        model = spec.model
        words.add(model.id)
        words.add(model.unit_name)
        words.update(re.findall(r"\b[A-Z]{3,}\b", model.body or ""))
        words.update(category.id for category in model.categories if "-" in category.id)
        words.update(name for name in model.activity_types if "-" in name)  # plain ones are everyday words
        for table in model.tables.values():
            words.update(str(key) for key in table.rows or {} if len(str(key)) > 2)
        for scale in model.scales.values():
            words.update(value for value in scale.values if not value.isalpha() or len(value) > 1)
    return words


def test_the_package_names_no_policy() -> None:
    words = _policy_words()
    assert {"asap-pace", "CEU", "CEC", "C+"} <= words  # the collection itself works
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.lark")]):
        text = path.read_text(encoding="utf-8")
        for word in words:
            if re.search(rf"(?<![\w+-]){re.escape(word)}(?![\w+-])", text):
                found.append(f"{path.relative_to(ROOT)}: {word}")
    assert not found, "policy words in the package (they belong in rules/):\n" + "\n".join(sorted(found))
