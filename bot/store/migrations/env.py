"""Alembic environment: migrates the database named by DATABASE_URL (or the config's URL)."""

from alembic import context
from sqlalchemy import create_engine

from bot import settings
from bot.store.models import Base, UTCDateTime

config = context.config
url = config.get_main_option("sqlalchemy.url") or settings.database_url()
# Rasa's tracker store owns its `events` table; migrations leave it alone.
OWN_TABLES = set(Base.metadata.tables)


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render the models' UTC type as a plain timestamp so migrations never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return type_ != "table" or name in OWN_TABLES


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
