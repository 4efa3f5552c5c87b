"""Stores: pick the adapter from CHATTRACK_DATABASE_URL."""

from __future__ import annotations

from tracking.store.base import CodeTaken, CountQuery, CountRow, NewDialog, Store, StoreUnavailable


def open_store(database_url: str, retention_days: int = 90) -> Store:
    """An unopened store for this URL (call `await store.open()`)."""
    if database_url.startswith(("mongodb://", "mongodb+srv://")):
        from tracking.store.mongo import MongoStore

        return MongoStore(database_url, retention_days=retention_days)
    from tracking.store.sqlite import SQLiteStore, sqlite_path

    return SQLiteStore(sqlite_path(database_url))


__all__ = ["CodeTaken", "CountQuery", "CountRow", "NewDialog", "Store", "StoreUnavailable", "open_store"]
