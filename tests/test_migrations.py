"""`python -m bot db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot.store import migrate
from bot.store.models import Base
from tests.services import fresh_postgres_database


def schema_differences(url: str) -> list:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(context, Base.metadata) if not _is_rasa_table(d)]
    finally:
        engine.dispose()


def _is_rasa_table(diff: tuple) -> bool:
    return diff[0] == "remove_table" and diff[1].name == "events"


def test_sqlite_upgrade_matches_models_and_is_repeatable(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert schema_differences(url) == []
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"tickets", "ticket_events", "handoffs", "staff", "staff_tokens", "policies"} <= tables


def test_postgres_upgrade_matches_models() -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        assert schema_differences(url) == []


def test_sqlite_database_is_in_wal_mode_so_processes_do_not_block_readers(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    with create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _staff_before_trainers_then_head(url: str) -> list:
    """An account made before 0003 (the trainer role) is no trainer after it; 0003 also goes down and up again."""
    from sqlalchemy import text

    migrate.upgrade(url, "0002")
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO staff (username, display_name, password_hash, is_admin, disabled, created_at)"
                " VALUES ('old', 'old', 'x', false, false, CURRENT_TIMESTAMP)"
            ))
        migrate.upgrade(url)
        command_downgrade_and_up(url)
        with engine.connect() as conn:
            return conn.execute(text("SELECT username, role FROM staff")).all()
    finally:
        engine.dispose()


def command_downgrade_and_up(url: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(url), "0002")
    migrate.upgrade(url)


def test_existing_staff_are_no_trainers_after_the_nlu_inbox_migration(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert [tuple(row) for row in _staff_before_trainers_then_head(url)] == [("old", "agent")]
    assert schema_differences(url) == []


def _roles_through_the_roles_migration(url: str) -> None:
    """0009 turns is_admin / is_trainer into staff.role, and back when it goes down."""
    from alembic import command
    from sqlalchemy import text

    migrate.upgrade(url, "0008")
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            for name, admin, trainer in (("chief", True, True), ("zhao", False, True), ("li", False, False)):
                conn.execute(text(
                    "INSERT INTO staff (username, display_name, password_hash, is_admin, is_trainer, disabled, created_at)"
                    " VALUES (:n, :n, 'x', :a, :t, false, CURRENT_TIMESTAMP)"
                ), {"n": name, "a": admin, "t": trainer})
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert dict(conn.execute(text("SELECT username, role FROM staff")).all()) == {
                "chief": "admin", "zhao": "trainer", "li": "agent"
            }
        command.downgrade(migrate.alembic_config(url), "0008")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, is_admin, is_trainer FROM staff")).all()
            assert {r[0]: (bool(r[1]), bool(r[2])) for r in rows} == {
                "chief": (True, False), "zhao": (False, True), "li": (False, False)
            }
        migrate.upgrade(url)
        assert schema_differences(url) == []
    finally:
        engine.dispose()


def test_admins_and_trainers_keep_their_role_through_the_roles_migration(tmp_path) -> None:
    _roles_through_the_roles_migration(f"sqlite:///{tmp_path / 'app.db'}")


def test_admins_and_trainers_keep_their_role_through_the_roles_migration_on_postgres() -> None:
    with fresh_postgres_database() as url:
        _roles_through_the_roles_migration(url)


def test_existing_staff_are_no_trainers_after_the_nlu_inbox_migration_on_postgres() -> None:
    with fresh_postgres_database() as url:
        assert [tuple(row) for row in _staff_before_trainers_then_head(url)] == [("old", "agent")]
        assert schema_differences(url) == []
