"""The watch list on disk: SQLite, shared by every batchmon process of a user."""
