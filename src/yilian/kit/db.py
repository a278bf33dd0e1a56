"""Engine, declarative Base with a naming convention (bulk writes: `kit.bulk`). The request's
session and its commit or rollback are `web.deps.get_session`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.sql.expression import FunctionElement, literal_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=False)}


class local_now(FunctionElement[datetime]):
    """The database's clock as China Standard Time without a zone (how every time is kept here),
    rendered into the statement: a default or onupdate that is SQL, not a Python callable, also
    holds for Core inserts and bulk updates."""

    type = DateTime(timezone=False)
    inherit_cache = True


@compiles(local_now, "sqlite")
def _local_now_sqlite(element: local_now, compiler: Any, **kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f', 'now', '+8 hours')"


@compiles(local_now, "postgresql")
def _local_now_postgresql(element: local_now, compiler: Any, **kw: Any) -> str:
    return "(clock_timestamp() AT TIME ZONE 'Asia/Shanghai')"


class Versioned:
    """A row served as a FHIR resource: its version (`meta.versionId`, ETag) and when it last changed
    (`meta.lastUpdated`, `_lastUpdated`). Both are kept by the database on every INSERT and UPDATE
    — ORM flushes, Core `update()`s — and by `kit.bulk.write_rows` for raw loads (`insert_rows`),
    so no write path has to remember them (decision 0035)."""

    # SQL, not Python values: the database keeps them whatever statement writes the row.
    row_version: Mapped[int] = mapped_column(server_default="1", onupdate=literal_column("row_version + 1"))
    row_updated_at: Mapped[datetime | None] = mapped_column(
        default=local_now(), onupdate=local_now(), index=True
    )


VERSIONED_TABLES = (
    "resident",
    "institution",
    "staff",
    "family_doctor_team",
    "schedule",
    "slot",
    "booking",
    "referral",
    "exam_order",
    "exam_report",
    "imaging_study",
    "clinical_observation",
    "chronic_register",
    "claim",
    "encounter",
    "fhir_resource",
)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine if isinstance(url_or_engine, str) else str(url_or_engine.url)
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so readers never block."""
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN itself.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front. A deferred transaction that reads first and writes
            # later fails at once ("database is locked") if another connection committed in between —
            # under WAL the busy timeout cannot help a stale snapshot. SQLite has one writer anyway.
            # A session made read-only (Database.read_session_factory) begins deferred: under WAL it
            # reads its snapshot beside the writer and beside other readers (decision 0015).
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it is one extra round trip on every checkout (an eighth of a booking's CPU).
    # Connections are recycled every 30 minutes; after a database restart the first request in each
    # process fails, SQLAlchemy then discards the whole pool (decision 0011).
    kwargs.setdefault("pool_recycle", 1800)
    # No JIT: PostgreSQL's default threshold compiled a 3 ms report for 100 ms (decision 0016).
    kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return create_engine(url, **kwargs)


READ_ONLY = "yilian_read_only"


class Database:
    """Holds the engine and session factory of one running application or test run."""

    def __init__(self, url: str, pool_size: int = 40, max_overflow: int = 10) -> None:
        self.url = url
        # As many pooled connections as request threads, on SQLite too: a connection beyond the pool
        # is opened and closed per request, and opening one runs the PRAGMAs (a tenth of a FHIR read).
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        # For requests that only read (FHIR's GETs): on SQLite they do not queue for the write lock.
        self.read_session_factory = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )


def psycopg_connection(connection: Connection) -> psycopg.Connection[Any]:
    """The driver's connection under a PostgreSQL one, for what SQLAlchemy does not offer (COPY)."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver
