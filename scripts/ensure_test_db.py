"""Print the URL of a PostgreSQL test database, creating the database when needed.

Uses LANTIAN_TEST_DATABASE_URL when set; otherwise tries the machine's PostgreSQL on
127.0.0.1:5432 (user postgres, trust auth). Prints nothing when no PostgreSQL answers, so
the tests then run on SQLite only and say so — except under CI, where that is an error.
"""

from __future__ import annotations

import os
import sys

import psycopg
from psycopg import sql

DEFAULT = "postgresql://postgres@127.0.0.1:5432/lantian_test"


def main() -> int:
    url = os.environ.get("LANTIAN_TEST_DATABASE_URL") or DEFAULT
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname", "lantian_test")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            print(f"PostgreSQL is required in CI and unreachable: {error}", file=sys.stderr)
            return 1
        print(f"note: no PostgreSQL at {url}; tests run on SQLite only", file=sys.stderr)
        return 0
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
