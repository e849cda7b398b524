"""Run by test_store_replay in a separate process: remember one jti when told to go.

Usage: python replay_child.py URL JTI EXPIRES_AT NOW. Prints "ready" once connected, waits for a
line on stdin, then prints True or False (the result of ``remember``).
"""

from __future__ import annotations

import sys
from datetime import datetime

from sqlalchemy import text

from connector.store.database import Database
from connector.store.repositories.replay import ReplayRepository


def main(url: str, jti: str, expires_at: str, now: str) -> None:
    database = Database.from_url(url)
    try:
        with database.read() as session:
            session.execute(text("SELECT 1"))
        print("ready", flush=True)
        sys.stdin.readline()
        with database.transaction() as session:
            first = ReplayRepository(session).remember(
                "dpop", jti, datetime.fromisoformat(expires_at), now=datetime.fromisoformat(now)
            )
        print(first, flush=True)
    finally:
        database.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:5])
