"""Persistence: the database schema, sessions and Rasa store adapters."""
