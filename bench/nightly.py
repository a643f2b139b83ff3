# ruff: noqa: E501  (SQL reads better unbroken)
"""The nightly jobs over all members: points expiry and the tier review, through Huiji's
services and as hand-written SQL doing the same writes, on copies of one generated database.

    python -m bench.nightly --members 1000000 --double

Each member has an earned lot already past its date (three in four members) and one still
good, and a tier due for review: a third keep it, a third are warned, a third drop a tier
after their grace. Both sides work in the same batches (5,000 members a transaction for
expiry, 2,000 for the review). Prints the wall times, their ratio, whether both sides left
the same ledger and tiers, and with --double the same for twice the members.
"""

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from datetime import date, timedelta

import psycopg
from dateutil.relativedelta import relativedelta

from bench._db import (
    BROKER,
    copy_of,
    deployed_env,
    fresh_database,
    redis_empty,
    sizes_result,
    use_django,
)

EXPIRY_BATCH, REVIEW_BATCH = 5000, 2000

GENERATE = """
INSERT INTO tiers_tier (code, name, rank, growth_threshold, discount_percent, points_multiplier, birthday_gift, free_shipping, members_only_access)
VALUES ('normal', '普通会员', 0, 0, 0, 1, '', false, false), ('silver', '白银会员', 1, 500, 3, 1.2, '', false, false),
       ('gold', '黄金会员', 2, 2000, 5, 1.5, '', true, false);

INSERT INTO members_member (id, created_at, updated_at, phone, name, gender, source, status, joined_at,
                            marketing_consent, consent_channel, referral_code)
SELECT g, now(), now(), (13000000000 + g)::text, '会员' || g, '', 'store', 'active', now() - interval '2 years',
       false, '', 'R' || lpad(to_hex(g), 11, '0')
FROM generate_series(1, %(members)s) g;

INSERT INTO points_account (kind, member_id, part, balance)
SELECT 'member', g, 0, 0 FROM generate_series(1, %(members)s) g;

-- Two earned lots a member: lot "a" is past its date for three members in four, lot "b" is good for a year.
INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, idempotency_key, cause_kind, description, created_at)
SELECT 'earn', (SELECT id FROM points_account WHERE kind = 'issuance' AND part = 0), a.id, 100 + a.member_id %% 50,
       a.member_id, 'bench:' || lot || ':' || a.member_id, 'demo', '消费得积分', now() - interval '400 days'
FROM points_account a CROSS JOIN (VALUES ('a'), ('b')) lots(lot) WHERE a.kind = 'member';

INSERT INTO points_lot (member_id, entry_id, amount, remaining, status, expires_on)
SELECT e.member_id, e.id, e.amount, e.amount, 'available',
       CASE WHEN e.idempotency_key LIKE 'bench:a:%%' AND e.member_id %% 4 <> 0
            THEN %(today)s::date - 1 - (e.member_id %% 20)::int ELSE %(today)s::date + 300 END
FROM points_entry e WHERE e.cause_kind = 'demo';

UPDATE points_account a SET balance = s.total
FROM (SELECT to_account_id, sum(amount) total FROM points_entry GROUP BY to_account_id) s
WHERE a.id = s.to_account_id;
UPDATE points_account SET balance = -(SELECT sum(amount) FROM points_entry) WHERE kind = 'issuance' AND part = 0;

-- Tiers by member id mod 3: 0 gold and still earning; 1 silver with nothing this year (warned);
-- 2 gold with nothing this year and its grace over (drops to silver).
INSERT INTO tiers_membertier (member_id, tier_id, since, review_on, grace_until)
SELECT g, (SELECT id FROM tiers_tier WHERE code = CASE g %% 3 WHEN 1 THEN 'silver' ELSE 'gold' END),
       now() - interval '1 year', %(today)s::date, CASE WHEN g %% 3 = 2 THEN %(today)s::date END
FROM generate_series(1, %(members)s) g;

INSERT INTO tiers_growthentry (member_id, kind, amount, key, cause_kind, description, created_at)
SELECT g, 'order', CASE g %% 3 WHEN 1 THEN 600 ELSE 2000 END, 'bench:old:' || g, 'demo', '消费成长值', now() - interval '13 months'
FROM generate_series(1, %(members)s) g
UNION ALL
SELECT g, 'order', CASE g %% 3 WHEN 0 THEN 2500 ELSE 100 END, 'bench:new:' || g, 'demo', '消费成长值', now() - interval '1 month'
FROM generate_series(1, %(members)s) g;
ANALYZE;
"""

EXPIRE_BATCH_SQL = """
CREATE TEMP TABLE due ON COMMIT DROP AS
SELECT l.id, l.member_id, l.remaining FROM points_lot l
WHERE l.status = 'available' AND l.expires_on < %(today)s AND l.member_id IN (
    SELECT DISTINCT member_id FROM points_lot WHERE status = 'available' AND expires_on < %(today)s
    AND member_id > %(after)s ORDER BY member_id LIMIT %(batch)s);
SELECT id FROM points_account
WHERE kind = 'breakage' OR member_id IN (SELECT member_id FROM due) ORDER BY id FOR UPDATE;
CREATE TEMP TABLE per_member ON COMMIT DROP AS
SELECT d.member_id, a.id AS account_id, sum(d.remaining) AS amount
FROM due d JOIN points_account a ON a.member_id = d.member_id GROUP BY d.member_id, a.id;
WITH batch AS (
    INSERT INTO points_jobbatch (kind, created_at) VALUES ('expiry', now()) RETURNING id),
entries AS (
    INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, cause_kind, cause_id, description, created_at)
    SELECT 'expire', p.account_id, (SELECT id FROM points_account WHERE kind = 'breakage'), p.amount, p.member_id,
           'expiry', (SELECT id FROM batch), '积分过期', now()
    FROM per_member p WHERE p.amount > 0
    RETURNING id, member_id)
INSERT INTO points_lotuse (entry_id, lot_id, amount)
SELECT e.id, d.id, d.remaining FROM due d JOIN entries e ON e.member_id = d.member_id WHERE d.remaining > 0;
UPDATE points_account a SET balance = a.balance - p.amount FROM per_member p WHERE a.id = p.account_id;
UPDATE points_account SET balance = balance + (SELECT coalesce(sum(amount), 0) FROM per_member) WHERE kind = 'breakage';
UPDATE points_lot SET remaining = 0, status = 'expired' WHERE id IN (SELECT id FROM due);
SELECT max(member_id) FROM due;
"""

REVIEW_BATCH_SQL = """
CREATE TEMP TABLE reviewed ON COMMIT DROP AS
WITH batch AS (
    SELECT mt.member_id, mt.tier_id, mt.grace_until, mt.floor_id, mt.floor_until
    FROM tiers_membertier mt WHERE mt.review_on <= %(today)s AND mt.member_id > %(after)s
    ORDER BY mt.member_id LIMIT %(batch)s FOR UPDATE SKIP LOCKED),
growth AS (
    SELECT g.member_id, sum(g.amount) AS total FROM tiers_growthentry g
    WHERE g.member_id IN (SELECT member_id FROM batch) AND g.created_at > %(since)s GROUP BY g.member_id),
facts AS (
    SELECT b.*, t.rank, t.code, t.growth_threshold, coalesce(gr.total, 0) AS growth,
           greatest(coalesce((SELECT max(q.rank) FROM tiers_tier q WHERE q.growth_threshold <= coalesce(gr.total, 0)), 0),
                    CASE WHEN b.floor_until >= %(today)s THEN (SELECT f.rank FROM tiers_tier f WHERE f.id = b.floor_id) ELSE 0 END) AS keep_at_least
    FROM batch b JOIN tiers_tier t ON t.id = b.tier_id LEFT JOIN growth gr ON gr.member_id = b.member_id)
SELECT f.*, CASE
        WHEN f.keep_at_least >= f.rank OR f.grace_until > %(today)s THEN 'keep'
        WHEN f.grace_until IS NULL THEN 'warn'
        ELSE 'drop' END AS outcome,
       greatest(f.rank - 1, f.keep_at_least) AS new_rank
FROM facts f;
UPDATE tiers_membertier mt SET grace_until = NULL, review_on = %(next_review)s
FROM reviewed r WHERE r.member_id = mt.member_id AND r.outcome = 'keep';
UPDATE tiers_membertier mt SET grace_until = %(grace_until)s, review_on = %(grace_until)s
FROM reviewed r WHERE r.member_id = mt.member_id AND r.outcome = 'warn';
UPDATE tiers_membertier mt SET tier_id = t.id, since = now(), grace_until = NULL, review_on = %(next_review)s
FROM reviewed r JOIN tiers_tier t ON t.rank = r.new_rank WHERE r.member_id = mt.member_id AND r.outcome = 'drop';
INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, note, created_at)
SELECT r.member_id, r.tier_id, t.id, 'downgrade', '', now()
FROM reviewed r JOIN tiers_tier t ON t.rank = r.new_rank WHERE r.outcome = 'drop';
INSERT INTO core_event (name, payload, status, attempts, next_attempt_at, last_error, created_at)
SELECT 'tier_changed', jsonb_build_object('member', r.member_id, 'from', r.code, 'to', t.code, 'reason', 'downgrade'),
       'pending', 0, now() + interval '1 minute', '', now()
FROM reviewed r JOIN tiers_tier t ON t.rank = r.new_rank WHERE r.outcome = 'drop'
UNION ALL
SELECT 'tier_downgrade_warning', jsonb_build_object('member', r.member_id, 'tier', r.code, 'until', %(grace_until)s::text,
       'growth_needed', greatest(r.growth_threshold - r.growth, 0)),
       'pending', 0, now() + interval '1 minute', '', now()
FROM reviewed r WHERE r.outcome = 'warn';
SELECT max(member_id) FROM reviewed;
"""

# What both sides must have left behind, to the point.
OUTCOME_SQL = """
SELECT json_build_object(
  'breakage', (SELECT balance FROM points_account WHERE kind = 'breakage'),
  'members_balance', (SELECT sum(balance) FROM points_account WHERE kind = 'member'),
  'expire_entries', (SELECT count(*) FROM points_entry WHERE kind = 'expire'),
  'lot_uses', (SELECT count(*) FROM points_lotuse),
  'lots_expired', (SELECT count(*) FROM points_lot WHERE status = 'expired'),
  'tiers', (SELECT json_object_agg(code, n) FROM (SELECT t.code, count(*) n FROM tiers_membertier mt JOIN tiers_tier t ON t.id = mt.tier_id GROUP BY t.code) x),
  'warned', (SELECT count(*) FROM tiers_membertier WHERE grace_until IS NOT NULL),
  'still_due', (SELECT count(*) FROM tiers_membertier WHERE review_on <= CURRENT_DATE),
  'tier_changes', (SELECT count(*) FROM tiers_tierchange),
  'events', (SELECT json_object_agg(name, n) FROM (SELECT name, count(*) n FROM core_event GROUP BY name) x)
)
"""


def generate(url: str, members: int, today: date) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        env=deployed_env(url, CELERY_BROKER_URL=BROKER),
        check=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in filter(str.strip, GENERATE.split(";\n")):
            conn.execute(statement, {"members": members, "today": today})
    return time.monotonic() - started


def huiji_side(url: str, today: date, queue) -> None:
    use_django(url, CELERY_BROKER_URL=BROKER)
    from apps.points.services import points_expire_due
    from apps.points.verification import ledger_problems
    from apps.tiers.services import tiers_review_due

    started = time.monotonic()
    expired = points_expire_due(today=today, batch=EXPIRY_BATCH)
    expiry_s = time.monotonic() - started
    started = time.monotonic()
    reviewed = tiers_review_due(today=today, batch=REVIEW_BATCH)
    review_s = time.monotonic() - started
    rerun = (points_expire_due(today=today), tiers_review_due(today=today))
    queue.put(
        {
            "expiry_s": expiry_s,
            "review_s": review_s,
            "expired_points": expired,
            "reviewed": reviewed,
            "rerun_did_nothing": rerun == (0, {"kept": 0, "warned": 0, "downgraded": 0}),
            "ledger_problems": ledger_problems(),
        }
    )


def baseline_side(url: str, today: date) -> dict:
    since = today - relativedelta(months=12)  # the default window, review and grace
    next_review, grace_until = today + relativedelta(months=1), today + timedelta(days=30)
    with psycopg.connect(url) as conn:
        started = time.monotonic()
        after = 0  # each batch starts past the last one's members, as Huiji's jobs do
        while after is not None:
            with conn.transaction():
                after = run_script(
                    conn, EXPIRE_BATCH_SQL, {"today": today, "batch": EXPIRY_BATCH, "after": after}
                )
        expiry_s = time.monotonic() - started
        started = time.monotonic()
        params = {
            "today": today,
            "batch": REVIEW_BATCH,
            "since": since,
            "next_review": next_review,
            "grace_until": grace_until,
        }
        after = 0
        while after is not None:
            with conn.transaction():
                after = run_script(conn, REVIEW_BATCH_SQL, {**params, "after": after})
        review_s = time.monotonic() - started
    return {"expiry_s": expiry_s, "review_s": review_s}


def run_script(conn, script: str, params: dict):
    """Each statement of the script in turn; the last one's first value."""
    for statement in filter(str.strip, script.split(";\n")):
        cursor = conn.execute(statement, params)
    return cursor.fetchone()[0]


def outcome(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return conn.execute(OUTCOME_SQL).fetchone()[0]


def run_size(members: int, today: date) -> dict:
    with fresh_database() as template:
        generated_s = generate(template, members, today)
        print(f"{members:,} members generated in {generated_s:.0f} s")
        with copy_of(template) as url:
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            worker = context.Process(target=huiji_side, args=(url, today, queue))
            worker.start()
            huiji = queue.get()
            worker.join()
            huiji_outcome = outcome(url)
        with copy_of(template) as url:
            baseline = baseline_side(url, today)
            baseline_outcome = outcome(url)
    huiji_s = huiji["expiry_s"] + huiji["review_s"]
    baseline_s = baseline["expiry_s"] + baseline["review_s"]
    same = huiji_outcome == baseline_outcome
    print(
        f"  Huiji    expiry {huiji['expiry_s']:7.1f} s  review {huiji['review_s']:7.1f} s  "
        f"({huiji['expired_points']:,} points expired; {huiji['reviewed']})"
    )
    print(f"  SQL      expiry {baseline['expiry_s']:7.1f} s  review {baseline['review_s']:7.1f} s")
    print(
        f"  ratio {huiji_s / baseline_s:.2f} (expiry {huiji['expiry_s'] / baseline['expiry_s']:.2f}, "
        f"review {huiji['review_s'] / baseline['review_s']:.2f}); same outcome: {same}; "
        f"rerun did nothing: {huiji['rerun_did_nothing']}; ledger problems: {huiji['ledger_problems'] or 'none'}"
    )
    if not same:
        print(f"  Huiji left {huiji_outcome}\n  SQL left   {baseline_outcome}")
    return {
        "members": members,
        "huiji_s": round(huiji_s, 1),
        "baseline_s": round(baseline_s, 1),
        "ratio": round(huiji_s / baseline_s, 2),
        "same_outcome": same,
        "rerun_did_nothing": huiji["rerun_did_nothing"],
        "ledger_ok": not huiji["ledger_problems"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--double", action="store_true", help="also run twice the members")
    args = parser.parse_args()
    today = date.today()
    results = [run_size(args.members, today)]
    if args.double:
        results.append(run_size(args.members * 2, today))
    redis_empty(BROKER)
    print("RESULT " + json.dumps(sizes_result("nightly", results)))


if __name__ == "__main__":
    main()
