"""Message size limits: split between paragraphs, lines or characters, never inside a UTF-8 character;
past a few parts, summarise the rest in one line. Every part of a split message starts with the
robots' keyword (集采): a robot secured by a custom keyword refuses a part without it.

Sizes are counted with the receiver's ``cost`` of a text: the bytes it takes in the body that is
actually sent (DingTalk markdown turns each line break into ``"  \\n"`` and JSON escapes it), so a
part that fits here fits at the vendor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KEYWORD = "集采"  # the custom keyword the robots are set up with (README, "Alerts")
TAIL = "……其余 {n} 字未显示。{more}"
MORE = "全部内容请在药学部集采控制台查看（控制台地址请问信息科）。"  # the sender's caller names the console's address


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


Cost = Callable[[str], int]


@dataclass(frozen=True)
class Budget:
    """What one part of a message may take: ``limit`` as counted by ``cost``."""

    limit: int
    cost: Cost = nbytes


def part_header(i: int, n: int) -> str:
    return f"【{KEYWORD} {i}/{n}】\n"


def _chunks_of_line(line: str, budget: int, cost: Cost) -> list[str]:
    out, cur, size = [], [], 0
    for ch in line:
        b = cost(ch)
        if size + b > budget and cur:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += b
    if cur:
        out.append("".join(cur))
    return out


def _fit(text: str, budget: int, cost: Cost, seps: tuple[str, ...] = ("\n\n", "\n")) -> list[str]:
    """Pieces of at most ``budget``, cut between paragraphs if possible, then lines, then characters."""
    if cost(text) <= budget:
        return [text]
    if not seps:
        return _chunks_of_line(text, budget, cost)
    sep, parts, cur = seps[0], [], ""
    for unit in text.split(sep):
        for piece in _fit(unit, budget, cost, seps[1:]):
            candidate = f"{cur}{sep}{piece}" if cur else piece
            if cost(candidate) <= budget:
                cur = candidate
            else:
                parts.append(cur)
                cur = piece
    if cur:
        parts.append(cur)
    return parts


def split_text(text: str, max_bytes: int, max_parts: int = 5, cost: Cost = nbytes, more: str = MORE) -> list[str]:
    """Parts of ``text``, each at most ``max_bytes`` as counted by ``cost``; when split, each starts
    with ``【集采 i/n】``; past ``max_parts``, the last part says how much is left out and ``more``
    (where to read it all: the console's page)."""
    if cost(text) <= max_bytes:
        return [text]
    reserve = cost(part_header(max_parts, max_parts))
    tail = TAIL.replace("{more}", more)
    parts = _fit(text, max(16, max_bytes - reserve), cost)
    if len(parts) > max_parts:
        hidden = sum(len(p) for p in parts[max_parts - 1:])
        parts = parts[: max_parts - 1] + [tail.replace("{n}", f"{hidden:,}")]
    n = len(parts)
    return [f"{part_header(i, n)}{p}" for i, p in enumerate(parts, 1)]
