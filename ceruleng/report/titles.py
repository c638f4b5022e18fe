"""Activity titles from the member's own document, for reports people read.

Input: the member document as read (any shape: a broken one gives no titles). Output: the title of each activity
record by its position, or None. Results identify activities by `index` (their position in the input), so a report
finds the title of `activities[index]` without the scorer carrying text it does not use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def activity_titles(document: Any) -> Sequence[str | None]:
    """The `title` of every activity record, by position (None where a record has no text title)."""
    records = document.get("activities") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return ()
    return [_title(record) for record in records]


def _title(record: Any) -> str | None:
    title = record.get("title") if isinstance(record, dict) else None
    if isinstance(title, str):
        return title
    return None


def title_at(titles: Sequence[str | None], index: int) -> str | None:
    return titles[index] if 0 <= index < len(titles) else None
