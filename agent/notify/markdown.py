"""The markdown every sender takes (bold and line breaks, what every robot shows); ``plain`` strips
it for a receiver that shows text only (a text robot, an email body)."""

from __future__ import annotations


def plain(markdown: str) -> str:
    return markdown.replace("**", "")
