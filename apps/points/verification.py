# ruff: noqa: E501  (SQL reads better unbroken)
"""The ledger's invariants, checked in the database (DESIGN.md, invariant 1)."""

from django.db import connection

CHECKS = {
    "all balances sum to zero": """
        SELECT 'total', NULL, coalesce(sum(balance), 0) FROM points_account HAVING coalesce(sum(balance), 0) <> 0
    """,
    "each stored balance equals the sum of its entries": """
        SELECT 'account', a.id, a.balance - coalesce(c.total, 0) + coalesce(d.total, 0)
        FROM points_account a
        LEFT JOIN (SELECT to_account_id AS id, sum(amount) AS total FROM points_entry GROUP BY 1) c ON c.id = a.id
        LEFT JOIN (SELECT from_account_id AS id, sum(amount) AS total FROM points_entry GROUP BY 1) d ON d.id = a.id
        WHERE a.balance <> coalesce(c.total, 0) - coalesce(d.total, 0)
    """,
    "each lot's remainder equals its amount less what was taken": """
        SELECT 'lot', l.id, l.remaining - (l.amount - coalesce(u.total, 0))
        FROM points_lot l
        LEFT JOIN (SELECT lot_id, sum(amount) AS total FROM points_lotuse GROUP BY 1) u ON u.lot_id = l.id
        WHERE l.remaining <> l.amount - coalesce(u.total, 0)
    """,
    "each member's balance equals their available lots": """
        SELECT 'member account', a.id, a.balance - coalesce(l.total, 0)
        FROM points_account a
        LEFT JOIN (SELECT member_id, sum(remaining) AS total FROM points_lot
                   WHERE status = 'available' GROUP BY 1) l ON l.member_id = a.member_id
        WHERE a.kind = 'member' AND a.balance <> coalesce(l.total, 0)
    """,
    "each part of pending holds exactly the pending lots earned into it": """
        SELECT 'pending account', a.id, a.balance - coalesce(l.total, 0)
        FROM points_account a
        LEFT JOIN (SELECT e.to_account_id AS id, sum(l.remaining) AS total
                   FROM points_lot l JOIN points_entry e ON e.id = l.entry_id
                   WHERE l.status = 'pending' GROUP BY 1) l ON l.id = a.id
        WHERE a.kind = 'pending' AND a.balance <> coalesce(l.total, 0)
    """,
    "no expired or void lot keeps points": """
        SELECT 'lot', id, remaining FROM points_lot WHERE status IN ('expired', 'void') AND remaining <> 0
    """,
}


def ledger_problems(limit: int = 20) -> dict[str, list[tuple]]:
    """Each invariant that fails, with up to `limit` offending rows (what, id, difference)."""
    problems = {}
    with connection.cursor() as cursor:
        for name, sql in CHECKS.items():
            cursor.execute(f"{sql} LIMIT {int(limit)}")
            rows = cursor.fetchall()
            if rows:
                problems[name] = rows
    return problems
