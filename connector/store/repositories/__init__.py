"""Repositories: one per kind of record, each built on a Core ``Connection`` and working inside the
caller's transaction (``with db.transaction() as s: AssetRepository(s).create(...)``)."""
