"""Core statements built once, and run straight on SQLite's writer connection.

A durable command's statements are few and fixed, yet through `Session.execute` each
one pays for SQLAlchemy's execution machinery (a compiled-cache look-up, an execution
context, parameter and result processing set up anew, a result object): 0.5 ms of the
writer thread's time for a page turn's eight statements, against 0.07 ms for the same
SQL through bare `sqlite3`. A `Prepared` statement keeps the Core statement as the one
source of truth and, on the writer's connection, compiles it once for SQLite: the SQL
text, the order of its parameters, the Python-side defaults SQLAlchemy would fill in
(`onupdate=utcnow`) and the bind and result processors of each column's type (JSON,
aware datetimes, enums). Each call then only converts values and executes. Elsewhere
(PostgreSQL, or a session that is not the writer's) it is `Session.execute` unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

# `session.info` key under which SQLite's writer puts its `sqlite3.Connection`.
SQLITE_CONNECTION = "phonghop.sqlite3"

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Parameter:
    """Where one `?` of the SQL gets its value, and how the value is converted."""

    key: str | None  # taken from the caller's parameters; None: `fixed` or `default`
    fixed: Any
    default: Callable[[], Any] | None
    process: Processor


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    parameters: tuple[_Parameter, ...]
    results: tuple[Processor, ...]  # one per result column; empty without rows


class Prepared:
    """A Core statement (or one per dialect), executed the cheap way where it can be."""

    def __init__(self, statement: Executable, **by_dialect: Executable) -> None:
        self.statement = statement
        self.by_dialect = by_dialect
        # Compiled forms for SQLite, by the set of parameter names given: as in
        # `Session.execute`, an INSERT's or UPDATE's columns are the parameters named.
        self._compiled: dict[frozenset[str], _Compiled] = {}

    def run(self, session: Session, params: Mapping[str, Any]) -> None:
        """Execute a statement that returns no rows (INSERT, UPDATE without RETURNING)."""
        connection = session.info.get(SQLITE_CONNECTION)
        if connection is None:
            session.execute(self._for(session), params)
        else:
            self._execute(session, connection, params)

    def rows(self, session: Session, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row the statement returns."""
        connection = session.info.get(SQLITE_CONNECTION)
        if connection is None:
            return session.execute(self._for(session), params).all()
        return self._execute(session, connection, params)

    def first(self, session: Session, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row, or None."""
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the one row the statement must return."""
        rows = self.rows(session, params)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}: {self.statement}")
        return rows[0][0]

    def _for(self, session: Session) -> Executable:
        return self.by_dialect.get(session.get_bind().dialect.name, self.statement)

    def _execute(self, session: Session, connection: sqlite3.Connection,
                 params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        # Whatever the ORM still holds must reach the database before this statement
        # does, as `Session.execute` would flush it (a no-op when there is nothing).
        session.flush()
        names = frozenset(params)
        compiled = self._compiled.get(names)
        if compiled is None:
            compiled = self._compiled[names] = _compile(
                self._for(session), session.get_bind().dialect, names)
        values = []
        for parameter in compiled.parameters:
            if parameter.key is not None:
                value = params[parameter.key]
            elif parameter.default is not None:
                value = parameter.default()
            else:
                value = parameter.fixed
            values.append(value if parameter.process is None else parameter.process(value))
        try:
            raw = connection.execute(compiled.sql, values).fetchall()
        except sqlite3.Error as error:
            # The exception SQLAlchemy would raise (IntegrityError for a unique key),
            # so callers catch one kind whichever road the statement took.
            raise DBAPIError.instance(compiled.sql, values, error, sqlite3.Error) from error
        if not compiled.results:
            return raw
        results = compiled.results
        return [tuple(value if process is None else process(value)
                      for value, process in zip(row, results, strict=True)) for row in raw]


def _compile(statement: Executable, dialect: Dialect, names: frozenset[str]) -> _Compiled:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=sorted(names))
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None:
        raise NotImplementedError(f"{dialect.name} does not take positional parameters")
    defaults: dict[str, Callable[[], Any]] = {}
    for column in compiled.insert_prefetch:
        defaults[column.key] = _python_default(column, column.default)
    for column in compiled.update_prefetch:
        defaults[column.key] = _python_default(column, column.onupdate)
    parameters = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute or bind.callable is not None:
            raise NotImplementedError(f"parameter {name} is not a plain value")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.key in names:
            parameters.append(_Parameter(bind.key, None, None, process))
        elif name in defaults:
            parameters.append(_Parameter(None, None, defaults[name], process))
        elif bind.required:
            raise KeyError(f"parameter {bind.key} is required")
        else:
            parameters.append(_Parameter(None, bind.value, None, process))
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in getattr(statement, "exported_columns", ()))
    return _Compiled(compiled.string, tuple(parameters), results)


def _python_default(column: Column[Any], default: Any) -> Callable[[], Any]:
    """A column's Python-side default or onupdate as a call with no arguments."""
    if default is not None and default.is_scalar:
        value = default.arg
        return lambda: value
    if default is not None and default.is_callable:
        # SQLAlchemy wraps a function of no arguments as one taking the execution
        # context; ours never look at it.
        function = default.arg
        return lambda: function(None)
    raise NotImplementedError(f"column {column} has a default that is not Python-side")
