"""The small error tree every module raises from.

Each error says whether retrying can help (``transient``) or a person must act
(``permanent``). The scheduler wrapper reads that flag; nothing else guesses.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""

    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient

    @property
    def permanent(self) -> bool:
        return not self.transient

    @property
    def kind(self) -> str:
        return "transient" if self.transient else "permanent"


class ConfigError(AgentError):
    """A configuration problem: always permanent until a person fixes the file.

    ``problems`` holds one line per problem (file, key, reason).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message, transient=False)
        self.problems = problems or [message]


class DataError(AgentError):
    """Data that cannot be used as it is (a bad row, a bad spreadsheet, a store we must not touch)."""


class StoreError(DataError):
    """The state store cannot be opened or is in a state the agent must not change."""


class SourceError(AgentError):
    """A HIS, prescription or warehouse database failed us."""


class PlatformError(AgentError):
    """The provincial procurement platform refused or failed a call."""


class NotifyError(AgentError):
    """A robot, mail server or webhook refused or failed a message."""
