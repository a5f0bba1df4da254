"""The database's schema, its migrations and the queries every part of the store shares."""

from __future__ import annotations

SCHEMA_VERSION = 2  # PRAGMA user_version; 2 added jobs.followed and the settings table
APPLICATION_ID = 0x62746D6E  # "btmn" in PRAGMA application_id: tells our database from any other SQLite file

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY,              -- order added
    id TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL,
    status TEXT,                          -- last observed status, NULL before the first
    preset TEXT,
    confirmed_at REAL,                    -- last time the server confirmed `status`
    has_record INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL,                 -- the write that last changed the row (meta 'rev')
    followed INTEGER NOT NULL DEFAULT 0   -- added by following the domain, not by hand
);
CREATE INDEX jobs_by_rev ON jobs (rev);
CREATE TABLE records (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);  -- by jobs.seq, apart so jobs stays small
CREATE TABLE transitions (job_id TEXT NOT NULL, status TEXT NOT NULL, observed_at REAL NOT NULL);
CREATE INDEX transitions_by_job ON transitions (job_id, observed_at);
CREATE TABLE removed (id TEXT PRIMARY KEY, rev INTEGER NOT NULL, removed_at REAL NOT NULL);  -- tombstones
CREATE INDEX removed_by_rev ON removed (rev);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- the user's choices, e.g. follow on/off
"""

# Each step takes a database from version N (its index + 1) to N + 1, keeping the data.
MIGRATIONS = (
    (
        "ALTER TABLE jobs ADD COLUMN followed INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)

# A StoredJob's columns, repaired where a row holds the wrong type (the file may be edited by hand
# or by a broken tool): a bad time or status reads as unknown, a bad added_at as 0.
JOB_COLUMNS = """id,
    CASE WHEN typeof(added_at) IN ('real', 'integer') THEN CAST(added_at AS REAL) ELSE 0.0 END,
    CASE WHEN typeof(status) = 'text' THEN status END,
    CASE WHEN typeof(preset) = 'text' THEN preset END,
    CASE WHEN typeof(confirmed_at) IN ('real', 'integer') THEN CAST(confirmed_at AS REAL) END,
    has_record IS 1,
    followed IS 1"""
GOOD_ID = "typeof(id) = 'text'"  # a row whose id is not text cannot be addressed: skipped


NEXT_REV = (
    "INSERT INTO meta (key, value) VALUES ('rev', 1) "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value"
)
