"""What indexes PostgreSQL really holds on a column, for tests that keep index storage in check."""

import re

import pytest
from django.db import connection

_INDEXDEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON \S+ USING (\w+) \((.*)\)(?: WHERE .*)?$")


def indexes_on(table: str, column: str) -> list[dict]:
    """Every index of `table` whose key includes `column`: name, method, columns, opclasses, unique."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_indexes is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [table],
        )
        rows = cursor.fetchall()
    found = []
    for name, definition in rows:
        match = _INDEXDEF.match(definition)
        assert match, definition
        unique, _name, method, keys = match.groups()
        parts = [key.strip().split() for key in keys.split(",")]
        if column in (part[0].strip('"') for part in parts):
            found.append(
                {
                    "name": name,
                    "method": method,
                    "columns": [part[0].strip('"') for part in parts],
                    "opclasses": [part[1] for part in parts if len(part) > 1],
                    "unique": bool(unique),
                    "definition": definition,
                }
            )
    return found


def assert_one_plain_btree(table: str, column: str, *, unique: bool = False) -> None:
    """`column` has exactly one index: a plain btree on it alone, without `varchar_pattern_ops`.

    A CharField with db_index=True or unique=True gets a second `..._like` index on PostgreSQL,
    useful only for LIKE 'x%', which no query asks of a blind index: pure space and write time.
    """
    found = indexes_on(table, column)
    definitions = [index["definition"] for index in found]
    assert not [i for i in found if i["opclasses"] or i["name"].endswith("_like")], definitions
    assert len(found) == 1, definitions
    (index,) = found
    assert (index["method"], index["columns"], index["unique"]) == ("btree", [column], unique), definitions
