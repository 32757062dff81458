"""Core statements built once, and run straight on the driver of a durable transaction.

A durable command's statements are few and fixed, yet through `Session.execute` each
one pays for SQLAlchemy's execution machinery (a compiled-cache look-up, an execution
context, parameter and result processing set up anew, a result object): 0.5 ms of the
writer thread's time for a page turn's eight statements on SQLite, against 0.07 ms for
the same SQL through bare `sqlite3`. A `Prepared` statement keeps the Core statement as
the one source of truth and compiles it once per dialect: the SQL text, the order of its
parameters, the Python-side defaults SQLAlchemy would fill in (`onupdate=utcnow`) and the
bind and result processors of each column's type (JSON, aware datetimes, enums). Each
call then only converts values and executes, on one of two roads:

- SQLite's writer (`server/db/writer.py`) puts its `sqlite3.Connection` in
  `session.info[SQLITE_CONNECTION]`; the statement runs on it.
- On PostgreSQL, `Database.transact` calls `begin_asyncpg`, which begins the session's
  transaction and puts its SQLAlchemy `Connection` in `session.info[ASYNCPG_CONNECTION]`.
  The statement then runs, from the session's greenlet, as the asyncpg prepared
  statement SQLAlchemy's own adapter would use for the same SQL (its per-connection
  cache, so both roads share one server-side statement), with the values SQLAlchemy
  would pass: the JSON codecs it registers on the connection take JSON as text, as here.
  The asyncpg transaction is the adapter's own, begun lazily by SQLAlchemy; it is begun
  before the first statement here, so the session's commit or rollback covers every
  statement, whichever road it took.

Errors are re-raised as SQLAlchemy raises them (IntegrityError for a unique key, and on
PostgreSQL through the connection's own error handling, so a lost connection is
invalidated as it would be). Elsewhere (a session that is neither, such as the HTTP
API's) it is `Session.execute` unchanged. A transaction on either road must not commit
part way: the session commits once, when `work` returns.

On PostgreSQL this took a page turn from 1.3-1.6 to 0.9-1.3 ms of this process's CPU,
and to 0.9-1.0 ms with the pre-ping gone (`server/db/postgresql.py`; in-process,
interleaved, `docs/decisions.md`); what remains is mostly the seven round trips
through the event loop. The asyncpg road leans on SQLAlchemy's adapter internals
(`_transaction`, `_start_transaction`, `_prepare`, `_handle_exception`) and on
`Connection._handle_dbapi_exception`: pyproject pins SQLAlchemy to 2.1.x, and
`tests/test_db_prepared.py` and `tests/test_db_restart.py` exercise each of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from sqlalchemy import Column
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_

# `session.info` key under which SQLite's writer puts its `sqlite3.Connection`.
SQLITE_CONNECTION = "phonghop.sqlite3"
# `session.info` key under which `begin_asyncpg` puts the session's `Connection`.
ASYNCPG_CONNECTION = "phonghop.asyncpg"

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Parameter:
    """Where one parameter of the SQL gets its value, and how the value is converted."""

    key: str | None  # taken from the caller's parameters; None: `fixed` or `default`
    fixed: Any
    default: Callable[[], Any] | None
    process: Processor


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    parameters: tuple[_Parameter, ...]  # in the order of `?`, or of `$1, $2, ...`
    # One per result column, empty without rows; None until the driver has described
    # the columns' types (asyncpg: some processors depend on them, e.g. a float column).
    results: tuple[Processor, ...] | None


class Prepared:
    """A Core statement (or one per dialect), executed the cheap way where it can be."""

    def __init__(self, statement: Executable, **by_dialect: Executable) -> None:
        self.statement = statement
        self.by_dialect = by_dialect
        # Compiled forms by dialect and by the set of parameter names given: as in
        # `Session.execute`, an INSERT's or UPDATE's columns are the parameters named.
        # By the dialect's class: no engine here sets options its processors would read
        # (a JSON serializer, say), so every instance of one class compiles alike.
        self._compiled: dict[tuple[type[Dialect], frozenset[str]], _Compiled] = {}
        self.asyncpg_calls = 0  # statements that took the asyncpg road (tests look)

    def run(self, session: Session, params: Mapping[str, Any]) -> None:
        """Execute a statement that returns no rows (INSERT, UPDATE without RETURNING)."""
        info = session.info
        if SQLITE_CONNECTION in info or ASYNCPG_CONNECTION in info:
            self.rows(session, params)
        else:
            session.execute(self._for(session.get_bind().dialect), params)

    def rows(self, session: Session, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row the statement returns."""
        info = session.info
        driver = info.get(SQLITE_CONNECTION)
        if driver is not None:
            return self._sqlite(session, driver, params)
        connection = info.get(ASYNCPG_CONNECTION)
        if connection is not None:
            return self._asyncpg(session, connection, params)
        return session.execute(self._for(session.get_bind().dialect), params).all()

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

    def _for(self, dialect: Dialect) -> Executable:
        return self.by_dialect.get(dialect.name, self.statement)

    def _prepare(self, session: Session, dialect: Dialect, params: Mapping[str, Any]
                 ) -> tuple[_Compiled, list[Any]]:
        # Whatever the ORM still holds must reach the database before this statement
        # does, as `Session.execute` would flush it (a no-op when there is nothing).
        session.flush()
        key = (type(dialect), frozenset(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self._for(dialect), dialect, key[1])
        values = []
        for parameter in compiled.parameters:
            if parameter.key is not None:
                value = params[parameter.key]
            elif parameter.default is not None:
                value = parameter.default()
            else:
                value = parameter.fixed
            values.append(value if parameter.process is None else parameter.process(value))
        return compiled, values

    def _sqlite(self, session: Session, driver: sqlite3.Connection,
                params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        compiled, values = self._prepare(session, session.get_bind().dialect, params)
        try:
            raw = driver.execute(compiled.sql, values).fetchall()
        except sqlite3.Error as error:
            # The exception SQLAlchemy would raise (IntegrityError for a unique key),
            # so callers catch one kind whichever road the statement took.
            raise DBAPIError.instance(compiled.sql, values, error, sqlite3.Error) from error
        return _processed(raw, compiled.results or ())

    def _asyncpg(self, session: Session, connection: Connection,
                 params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        self.asyncpg_calls += 1
        dialect = connection.dialect
        compiled, values = self._prepare(session, dialect, params)
        adapter: Any = connection.connection.dbapi_connection
        try:
            raw, attributes = await_(_fetch(adapter, compiled.sql, values,
                                            getattr(dialect, "_invalidate_schema_cache_asof", 0)))
        except BaseException as error:  # a cancellation too: see `_raise_as_sqlalchemy`
            _raise_as_sqlalchemy(connection, adapter, compiled.sql, values, error)
        results = compiled.results
        if results is None:
            # Only the statement's own columns: for an INSERT that is not given its key,
            # PostgreSQL's SQL also returns the new key (as SQLAlchemy compiles it), rows
            # that `Session.execute` would not return either.
            results = _result_processors(self._for(dialect), dialect,
                                         [attribute.type.oid for attribute in attributes])
            key = (type(dialect), frozenset(params))
            self._compiled[key] = replace(compiled, results=results)
        return _processed(raw, results)


def begin_asyncpg(session: Session) -> None:
    """Put the session's PostgreSQL transaction on the asyncpg road, begun now.

    Called in the session's greenlet before any statement. Raises a `DBAPIError` (with
    `connection_invalidated` set when the connection turned out dead) if BEGIN fails.
    """
    connection = session.connection()  # checked out, SQLAlchemy's transaction begun
    adapter: Any = connection.connection.dbapi_connection
    if adapter._transaction is None:
        try:
            await_(adapter._start_transaction())
        except BaseException as error:
            _raise_as_sqlalchemy(connection, adapter, "BEGIN", (), error)
    if adapter._transaction is None:  # autocommit: nothing would be rolled back
        raise RuntimeError("the asyncpg road needs a transaction, not autocommit")
    session.info[ASYNCPG_CONNECTION] = connection


def end_asyncpg(session: Session) -> None:
    """Take the session off the asyncpg road (before it commits or rolls back)."""
    session.info.pop(ASYNCPG_CONNECTION, None)


async def _fetch(adapter: Any, sql: str, values: list[Any], schema_asof: float
                 ) -> tuple[list[Any], Any]:
    # As SQLAlchemy's cursor does (`AsyncAdapt_asyncpg_cursor._prepare_and_execute`),
    # less what a session's greenlet does not need: its mutex guards one connection used
    # by two tasks at once, which one session never is; rowcount and description.
    if adapter._transaction is None:
        await adapter._start_transaction()
    statement, attributes = await adapter._prepare(sql, schema_asof)
    return await statement.fetch(*values), attributes


def _raise_as_sqlalchemy(connection: Connection, adapter: Any, sql: str,
                         values: Sequence[Any], error: BaseException) -> NoReturn:
    """Raise what SQLAlchemy would for `error`, handled as its own execution handles it."""
    dbapi: Any = connection.dialect.loaded_dbapi
    if isinstance(error, Exception) and not isinstance(error, dbapi.Error):
        try:
            # asyncpg's error as the adapter's DB-API one; an error that is not the
            # database's (a bad value's TypeError) it re-raises as it is, as SQLAlchemy
            # would, unwrapped.
            adapter._handle_exception(error)
        except dbapi.Error as translated:
            error = translated
    # A cancellation (or another exit exception) stays what it is, yet the connection,
    # stopped part way through a statement, is thrown away, as SQLAlchemy does.
    if isinstance(error, (dbapi.InvalidCachedStatementError, dbapi.InternalServerError)):
        # The execution context's reaction: the schema changed, prepare anew everywhere.
        connection.dialect._invalidate_schema_cache()  # type: ignore[attr-defined]
    # Wraps it (IntegrityError, ...), and on a lost connection invalidates it and the
    # pool's older connections, exactly as for a statement SQLAlchemy executed.
    connection._handle_dbapi_exception(error, sql, tuple(values), None, None)


def _processed(raw: list[Any], results: tuple[Processor, ...]) -> Sequence[Any]:
    if not results:  # no rows of the statement's own (see `Prepared._asyncpg`)
        return []
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
    # `positiontup` is the order of the `?`s, or of `$1, $2, ...` (a name used twice is
    # one number), so the values are passed positionally in the same order.
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
    results = None
    if dialect.name == "sqlite":  # its processors never look at the column's type code
        width = len(getattr(statement, "exported_columns", ()))
        results = _result_processors(statement, dialect, [None] * width)
    return _Compiled(compiled.string, tuple(parameters), results)


def _result_processors(statement: Executable, dialect: Dialect, coltypes: Sequence[Any]
                       ) -> tuple[Processor, ...]:
    """Each result column's processor, given the type codes the driver reports."""
    columns = getattr(statement, "exported_columns", ())
    if not columns:
        return ()
    return tuple(column.type.dialect_impl(dialect).result_processor(dialect, coltype)
                 for column, coltype in zip(columns, coltypes, strict=True))


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
