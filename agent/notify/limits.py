"""Message size limits: split between paragraphs, lines or characters, never inside a UTF-8 character;
past a few parts, summarise the rest in one line."""

from __future__ import annotations

HEADER_RESERVE = 24  # room for "(10/10)\n" and a little markdown
TAIL = "……其余 {n} 字未显示，请运行 vbp-agent alerts list 查看全部。"


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _chunks_of_line(line: str, budget: int) -> list[str]:
    out, cur, size = [], [], 0
    for ch in line:
        b = nbytes(ch)
        if size + b > budget and cur:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += b
    if cur:
        out.append("".join(cur))
    return out


def _fit(text: str, budget: int, seps: tuple[str, ...] = ("\n\n", "\n")) -> list[str]:
    """Pieces of at most ``budget`` bytes, cut between paragraphs if possible, then lines, then characters."""
    if nbytes(text) <= budget:
        return [text]
    if not seps:
        return _chunks_of_line(text, budget)
    sep, parts, cur = seps[0], [], ""
    for unit in text.split(sep):
        for piece in _fit(unit, budget, seps[1:]):
            candidate = f"{cur}{sep}{piece}" if cur else piece
            if nbytes(candidate) <= budget:
                cur = candidate
            else:
                parts.append(cur)
                cur = piece
    if cur:
        parts.append(cur)
    return parts


def split_text(text: str, max_bytes: int, max_parts: int = 5) -> list[str]:
    """Parts of ``text``, each at most ``max_bytes`` UTF-8 bytes, numbered ``(i/n)`` when split."""
    if nbytes(text) <= max_bytes:
        return [text]
    parts = _fit(text, max(16, max_bytes - HEADER_RESERVE))
    if len(parts) > max_parts:
        hidden = sum(len(p) for p in parts[max_parts - 1:])
        parts = parts[: max_parts - 1] + [TAIL.format(n=hidden)]
    n = len(parts)
    return [f"({i}/{n})\n{p}" for i, p in enumerate(parts, 1)]
