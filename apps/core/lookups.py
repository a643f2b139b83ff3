"""`field__any=ids`: membership in a batch's list of ids, as one parameter.

A nightly job's batch of thousands of ids written `__in` becomes thousands of query
parameters, which psycopg splits out and quotes one by one in Python; on PostgreSQL this
lookup sends one array (`= ANY(%s)`). Elsewhere it is the same as `__in`.
"""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "FALSE", []
        if all(type(value) is int for value in self.rhs):
            # Whole numbers (ids, mostly) go as one array literal: psycopg quotes a list of
            # thousands of them element by element in Python, many times slower.
            return f"{lhs} = ANY(%s::bigint[])", [*params, f"{{{','.join(map(str, self.rhs))}}}"]
        return f"{lhs} = ANY(%s)", [*params, self.rhs]

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # a foreign key's own lookups do not inherit Field's
