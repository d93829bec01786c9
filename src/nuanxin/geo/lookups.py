"""Region-code prefixes that use the index on SQLite too.

Scope is "codes starting with this prefix" everywhere. Django writes startswith as
`LIKE 'prefix%' ESCAPE '\\'`, which SQLite cannot answer from a b-tree index (its LIKE is
case-insensitive), so every scoped list scanned its whole table. On SQLite the same question
becomes a range, `code >= prefix AND code < prefix || U+10FFFF`, which the index answers.
PostgreSQL keeps LIKE: Django's `varchar_pattern_ops` index serves it, and a range would
depend on the database's collation.
"""

from django.db.models.lookups import StartsWith

_TOP = "\U0010ffff"


class CodePrefix(StartsWith):
    lookup_name = "startswith"

    def as_sqlite(self, compiler, connection):
        if not (self.rhs_is_direct_value() and isinstance(self.rhs, str)):
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        params = [*lhs_params, self.rhs, *lhs_params, self.rhs + _TOP]
        return f"({lhs} >= %s AND {lhs} < %s)", params
