"""Exceptions raised by onetoone.

Every exception derives from :class:`OneToOneError`, so ``except OneToOneError``
catches anything the library raises on purpose. Messages name the offending
field and say what would fix it.
"""

from __future__ import annotations

__all__ = [
    "DataSourceError",
    "EmptyInputError",
    "FormatError",
    "InfeasibleError",
    "LengthMismatchError",
    "MissingDependencyError",
    "NotFittedError",
    "OneToOneDeprecationWarning",
    "OneToOneError",
    "UnknownIdError",
    "ValidationError",
]


class OneToOneError(Exception):
    """Base class of every error onetoone raises."""


class ValidationError(OneToOneError, ValueError):
    """An argument has a wrong value, type, shape or content.

    ``field`` names the argument (or column) at fault, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LengthMismatchError(ValidationError):
    """Columns that must be aligned row by row have different lengths."""


class EmptyInputError(ValidationError):
    """An input that needs at least one row (or one customer, item ...) is empty."""


class UnknownIdError(ValidationError, KeyError):
    """An external id is not in the index it is looked up in."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InfeasibleError(OneToOneError):
    """A problem's constraints cannot all be met; the message names the constraint."""


class NotFittedError(OneToOneError):
    """A model is used before it was fitted, or for data it was not fitted on."""


class FormatError(OneToOneError):
    """A saved file is not a onetoone file, is corrupt, or has an unsupported version."""


class DataSourceError(OneToOneError, OSError):
    """An external source (a database server) cannot be reached, read or written.

    An ``OSError``, so code that handles I/O failures catches it too. The message
    names the source with any password redacted, and says what would fix it.
    """


class MissingDependencyError(OneToOneError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class OneToOneDeprecationWarning(FutureWarning):
    """A public name, parameter or value is deprecated; the message names the replacement.

    A ``FutureWarning`` (as scikit-learn and pandas use) so that it is shown to the
    people who can act on it, also when onetoone is called from inside another package.
    Deprecated spellings keep working for one minor version, then are removed.
    """
