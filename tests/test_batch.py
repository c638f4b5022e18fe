"""Parallel batches: the blocks handed to workers cover the file exactly, in whole lines, with the right numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceruleng import batch


@pytest.mark.parametrize("ending", ["\n", ""])
def test_blocks_are_whole_lines_covering_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  ending: str) -> None:
    monkeypatch.setattr(batch, "CHUNK_BYTES", 64)
    lines = [f'{{"member": "M{n}", "pad": "{"x" * (n % 7) * 9}"}}' for n in range(40)]
    lines[17] = '{"member": "long", "pad": "' + "y" * 500 + '"}'  # longer than a block
    text = "\n".join(lines) + ending
    path = tmp_path / "batch.jsonl"
    path.write_text(text)
    data = path.read_bytes()
    seen: list[tuple[int, str]] = []
    position = 0
    for offset, length, first_line in batch._ranges(str(path)):
        assert offset == position and length > 0
        block = data[offset:offset + length]
        assert block.endswith(b"\n") or offset + length == len(data)
        seen.extend(enumerate(block.decode().splitlines(), start=first_line))
        position += length
    assert position == len(data)
    assert seen == list(enumerate(lines, start=1))
