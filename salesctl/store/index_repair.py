"""The index database replaced under a command, or damaged: told apart from SQLite's other
errors, and put right, so that no command fails for want of derived data.

- **Replaced**: ``index rebuild`` in another process builds a new file where the old one
  was. A connection still open on the old one reads on, but SQLite refuses its next write
  (``SQLITE_READONLY_DBMOVED``): the connection is opened again, on the new file.
- **Damaged**: a file that is no database, pages or a schema that SQLite cannot read, text
  that is not UTF-8 (in a row, or in SQLite's message quoting the schema). The index holds
  nothing the record files do not: the file is thrown away and built again, and the
  command goes on with a warning.

Nothing is checked in advance (no read pays for it): what went wrong is told from the
exception, and the query that raised it is asked again, once.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from salesctl.errors import Invalid

if TYPE_CHECKING:
    from salesctl.store.index_refresh import RefreshingIndex

DBMOVED = 1032  # SQLITE_READONLY_DBMOVED: the file this connection opened is gone
# SQLITE_CORRUPT, SQLITE_MISMATCH, SQLITE_FORMAT, SQLITE_NOTADB
DAMAGE = frozenset({11, 20, 24, 26})
# SQLITE_ERROR is also every mistake in a query (a column misnamed, too many variables):
# damage only when it says a table, column or JSON of the schema is not there or not whole,
# so a query's bug is told as itself, not as an index rebuilt on every command.
SCHEMA_GONE = ("no such table", "no such column", "malformed JSON", "malformed database")
SURELY_DAMAGED = frozenset({11, 14, 26})  # at open: CORRUPT, CANTOPEN (a directory), NOTADB
BUGS = (sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.NotSupportedError)
ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)  # what a damaged file raises
F = TypeVar("F", bound=Callable[..., Any])


class IndexUnavailable(Invalid):
    """The index cannot be built (a read-only ``.git``, a full disk)."""

    def __init__(self, path: str, reason: object, damaged: str | None) -> None:
        what = f"the index {path} is damaged ({damaged}) and" if damaged else f"the index {path}"
        super().__init__(
            f"{what} cannot be built: {reason}",
            f"make {os.path.dirname(path) or '.'} writable, then run `salesctl index rebuild`",
        )


def moved(exc: BaseException) -> bool:
    """Whether ``exc`` says the database file was replaced under the connection."""
    return getattr(exc, "sqlite_errorcode", None) == DBMOVED


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` says the database file is not (any more) a readable index. Not a
    busy or read-only database, a full disk, or salesctl's own misuse of the module."""
    if isinstance(exc, UnicodeDecodeError):  # SQLite's message quotes damaged bytes
        return True
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, BUGS):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # the module's own: text that does not decode
        return isinstance(exc, sqlite3.OperationalError) and "decode" in str(exc)
    if code & 0xFF == 1:
        return any(sign in str(exc) for sign in SCHEMA_GONE)
    return code & 0xFF in DAMAGE


def damaged_at_open(exc: Exception, path: Path) -> bool:
    """Whether the file an open failed on is damaged, not missing or of an old version
    (both rebuilt without a word)."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in SURELY_DAMAGED and os.path.lexists(path)


def recovering(method: F) -> F:
    """``method`` of the index, asked again once the database is put right (``recover``)."""

    @functools.wraps(method)
    def again(index: RefreshingIndex, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(index, *args, **kwargs)
        except ERRORS as exc:
            if not recover(index, exc):
                raise
        return method(index, *args, **kwargs)

    return cast(F, again)


def recover(index: RefreshingIndex, exc: Exception) -> bool:
    """Put the database right after ``exc``, if that is what it needs: True to try again.
    A replaced file is opened anew; a damaged one is built again (once per command)."""
    if not index.repo.owns_root:
        return False  # in memory: never replaced, never damaged
    if moved(exc):
        index.reopen()
        return True
    if not damaged(exc) or index.repaired is not None:
        return False
    found = identity(index.db_path)
    index.reopen()
    index.repaired = reason(exc)
    # built again even if its version is current: the file ``found`` (device, inode) is bad
    head = index.repo.head() or "-"
    index._db = index._keyed(index._build(head, damaged=index.repaired, found=found))
    index.warn(rebuilt(index))
    return True


def logged(message: str) -> None:
    """A warning where no CLI prints it (library use, ``serve``): to the log."""
    import logging  # (not at start-up: a read command never imports it)

    logging.getLogger("salesctl").warning(message)


def reason(exc: BaseException) -> str:
    """What SQLite said, on one short line (a decode error quotes the damaged bytes)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 100 else text[:99] + "…"


def rebuilt(index: RefreshingIndex) -> str:
    """The warning that the database was damaged, and rebuilt."""
    return f"the index {shown(index)} was damaged ({index.repaired}); rebuilt it from the files"


def shown(index: RefreshingIndex) -> str:
    """The database's path as a user finds it: from the store's root."""
    path = index.db_path
    return str(path.relative_to(index.root)) if path.is_relative_to(index.root) else str(path)


def identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``: which one a command found damaged."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def discard(path: Path) -> None:
    """Remove the database file and its journal (a directory in its place: moved aside,
    as ``NAME.damaged``)."""
    for suffix in ("-journal", "-wal", "-shm", ""):
        name = f"{path}{suffix}"
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
        except OSError:
            if not os.path.isdir(name):
                raise
            os.replace(name, f"{name}.damaged")
