# ruff: noqa: E501  (SQL reads better unbroken)
"""One member-day campaign over all members, through Huiji's campaign run (as its Celery task
runs it) and as hand-written SQL doing the same writes, on copies of one generated database.

    python -m bench.campaign --members 1000000 --double

The members: three tiers, twenty home stores, birthdays, six in ten agreeing to marketing,
each with a mobile number, four in ten with a WeChat openid, one in a hundred frozen, seven in ten tagged 常客 (the campaign's segment), a points balance each. The
campaign: the segment's members, without HQ's 5% control group and a 10% holdout; a coupon
each (at most twice a member over the campaign: one in twenty had it twice already, one in
twenty once) within a coupons budget, and an inbox message each, refused to those without
marketing consent. Both sides go over the members in the same chunks. Prints the wall
times, their ratio, whether both sides gave the same members the same things, the checks
(nobody given a coupon twice, no member past the limit, stock and budget not exceeded,
nothing to the control group or the holdout, a rerun gives nothing), and with --double
the same for twice the members.
"""

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from decimal import Decimal

import psycopg

from apps.core.codes import minute_letters
from bench._db import (
    BROKER,
    copy_of,
    deployed_env,
    fresh_database,
    redis_empty,
    sizes_result,
    use_django,
)

CHUNK = 1000  # apps.marketing.campaigns.CHUNK: the worker says if it is not
COUPON_LIMIT = 2
HASH_DIGITS = 6  # apps.marketing.audience: shares by the first hex digits of an md5

GENERATE = """
INSERT INTO members_member (id, created_at, updated_at, phone, name, gender, birthday, home_store_id, source, status,
                            joined_at, marketing_consent, consent_channel, referral_code, "returning")
SELECT g, now(), now(), (13000000000 + g)::text, '会员' || g, '',
       date '1970-01-01' + (g::bigint * 7919 %% 15000)::int, (%(stores)s::bigint[])[1 + g %% 20], 'store',
       CASE WHEN g %% 100 = 42 THEN 'frozen' ELSE 'active' END, now() - (g %% 1000) * interval '1 day',
       g %% 5 < 3, CASE WHEN g %% 5 < 3 THEN 'miniprogram' ELSE '' END, 'R' || lpad(to_hex(g), 11, '0'), false
FROM generate_series(1, %(members)s) g;
SELECT setval(pg_get_serial_sequence('members_member', 'id'), %(members)s);

INSERT INTO members_memberidentity (member_id, kind, value, created_at)
SELECT g, 'wechat_openid', 'o' || md5(g::text), now() FROM generate_series(1, %(members)s) g WHERE g %% 5 < 2;

INSERT INTO members_membertag (member_id, tag_id, created_at)
SELECT g, %(tag)s, now() FROM generate_series(1, %(members)s) g WHERE g %% 10 < 7;

INSERT INTO tiers_membertier (member_id, tier_id, since, review_on)
SELECT g, (%(tiers)s::bigint[])[1 + g %% 3], now() - interval '3 months', current_date + 270
FROM generate_series(1, %(members)s) g;

INSERT INTO points_account (kind, member_id, part, balance)
SELECT 'member', g, 0, 0 FROM generate_series(1, %(members)s) g;

INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, idempotency_key, cause_kind, description, created_at)
SELECT 'earn', (SELECT id FROM points_account WHERE kind = 'issuance' AND part = 0), a.id, 10 + a.member_id %% 2000,
       a.member_id, 'bench:' || a.member_id, 'demo', '消费得积分', now() - interval '30 days'
FROM points_account a WHERE a.kind = 'member';

INSERT INTO points_lot (member_id, entry_id, amount, remaining, status, expires_on)
SELECT e.member_id, e.id, e.amount, e.amount, 'available', current_date + 300 FROM points_entry e WHERE e.cause_kind = 'demo';

UPDATE points_account a SET balance = e.amount FROM points_entry e WHERE e.to_account_id = a.id AND e.cause_kind = 'demo';
UPDATE points_account SET balance = -(SELECT sum(amount) FROM points_entry) WHERE kind = 'issuance' AND part = 0;

-- The coupon given before, on two earlier member days: once to one member in twenty, twice to another.
INSERT INTO marketing_campaignoccurrence (campaign_id, key, created_at)
VALUES (%(campaign)s, 'prior-1', now() - interval '2 months'), (%(campaign)s, 'prior-2', now() - interval '1 month');
INSERT INTO marketing_campaigngrant (campaign_id, occurrence_id, action_id, member_id, cost, created_at)
SELECT %(campaign)s, o.id, %(coupon_action)s, g, 1, o.created_at
FROM generate_series(1, %(members)s) g JOIN marketing_campaignoccurrence o ON o.campaign_id = %(campaign)s
WHERE g %% 20 = 0 OR (g %% 20 = 10 AND o.key = 'prior-1');
ANALYZE;
"""

# The baseline: the same run by hand. The occurrence and the budget's counter once, then chunk by chunk.
BASELINE_START = """
INSERT INTO marketing_campaignoccurrence (campaign_id, key, created_at) VALUES (%(campaign)s, %(key)s, now());
INSERT INTO marketing_campaignspend (campaign_id, kind, period, spent)
SELECT %(campaign)s, 'coupon', 'total', coalesce(sum(g.cost), 0)
FROM marketing_campaigngrant g JOIN marketing_campaignaction a ON a.id = g.action_id
WHERE g.campaign_id = %(campaign)s AND a.kind = 'coupon'
ON CONFLICT DO NOTHING;
SELECT id FROM marketing_campaignoccurrence WHERE campaign_id = %(campaign)s AND key = %(key)s
"""

BASELINE_CHUNK = """
SELECT id FROM marketing_campaign WHERE id = %(campaign)s FOR UPDATE;
CREATE TEMP TABLE chunk ON COMMIT DROP AS
SELECT m.id, substr(md5(%(salt)s || ':' || m.id::text), 1, 6) >= %(holdout)s AS reached
FROM members_member m
WHERE m.status = 'active' AND m.id > %(after)s
  AND EXISTS (SELECT 1 FROM members_membertag t WHERE t.member_id = m.id AND t.tag_id = %(tag)s)
  AND substr(md5(%(control_salt)s || ':' || m.id::text), 1, 6) >= %(control)s
ORDER BY m.id LIMIT %(batch)s;
INSERT INTO marketing_campaignmember (campaign_id, occurrence_id, member_id, "group", created_at)
SELECT %(campaign)s, %(occurrence)s, id, CASE WHEN reached THEN 'reached' ELSE 'holdout' END, now() FROM chunk
ON CONFLICT DO NOTHING;
CREATE TEMP TABLE coupon_to ON COMMIT DROP AS
SELECT c.id FROM chunk c
LEFT JOIN (SELECT member_id, count(*) AS times, bool_or(occurrence_id = %(occurrence)s) AS this_time
           FROM marketing_campaigngrant
           WHERE action_id = %(coupon_action)s AND member_id BETWEEN (SELECT min(id) FROM chunk) AND (SELECT max(id) FROM chunk)
           GROUP BY member_id) g ON g.member_id = c.id
WHERE c.reached AND coalesce(g.times, 0) < %(limit)s AND NOT coalesce(g.this_time, false);
UPDATE marketing_campaignspend SET spent = spent + (SELECT count(*) FROM coupon_to)
WHERE campaign_id = %(campaign)s AND kind = 'coupon' AND period = 'total' AND spent + (SELECT count(*) FROM coupon_to) <= %(budget)s;
UPDATE coupons_coupontemplate SET issued = issued + (SELECT count(*) FROM coupon_to)
WHERE id = %(template)s AND (total_stock IS NULL OR issued + (SELECT count(*) FROM coupon_to) <= total_stock);
INSERT INTO marketing_campaigngrant (campaign_id, occurrence_id, action_id, member_id, cost, created_at)
SELECT %(campaign)s, %(occurrence)s, %(coupon_action)s, id, 1, now() FROM coupon_to;
INSERT INTO coupons_coupon (template_id, member_id, code, status, source, issued_to_id, cause_kind, cause_id, issued_at,
                            valid_from, valid_until, receipt, discount, order_amount)
SELECT %(template)s, c.id,
       %(minute)s || (SELECT string_agg(substr('23456789ABCDEFGHJKMNPQRSTUVWXYZ', 1 + floor(random() * 31)::int, 1), '')
                      FROM generate_series(1, 11) WHERE c.id IS NOT NULL),
       'available', 'event', c.id, 'campaign', %(occurrence)s, now(), now(), %(valid_until)s, '', NULL, NULL
FROM coupon_to c;
INSERT INTO marketing_campaigngrant (campaign_id, occurrence_id, action_id, member_id, cost, created_at)
SELECT %(campaign)s, %(occurrence)s, %(message_action)s, c.id, 1, now() FROM chunk c WHERE c.reached
ON CONFLICT DO NOTHING;
INSERT INTO marketing_message (member_id, template_id, channel, marketing, cause_kind, cause_id, title, body, link, "values",
                               status, reason, error, attempts, due_at, created_at, provider_id, delivery)
SELECT m.id, %(message_template)s, 'inbox', true, 'campaign', %(occurrence)s,
       m.name || '，会员日到了',
       coalesce(t.name, '') || '专享：' || %(coupon_name)s || '已到账，您有 ' || coalesce(a.balance, 0) || ' 积分，' || coalesce(s.name, '') || '等您。',
       '/m/coupons',
       jsonb_build_object('name', m.name, 'tier', coalesce(t.name, ''), 'points', coalesce(a.balance, 0),
                          'store', coalesce(s.name, ''), 'coupon', %(coupon_name)s, 'link', '/m/coupons'),
       CASE WHEN m.marketing_consent THEN 'queued' ELSE 'refused' END,
       CASE WHEN m.marketing_consent THEN '' ELSE 'no_consent' END, '', 0, now(), now(), '', %(delivery_unknown)s
FROM chunk c JOIN members_member m ON m.id = c.id
LEFT JOIN tiers_membertier mt ON mt.member_id = m.id LEFT JOIN tiers_tier t ON t.id = mt.tier_id
LEFT JOIN points_account a ON a.member_id = m.id LEFT JOIN stores_store s ON s.id = m.home_store_id
WHERE c.reached
ON CONFLICT DO NOTHING;
SELECT max(id) FROM chunk
"""

# What both sides must have left behind, to the point (not the coupons' random codes, nor times).
OUTCOME_SQL = """
WITH occ AS (SELECT id FROM marketing_campaignoccurrence WHERE campaign_id = %(campaign)s AND key NOT LIKE 'prior-%%')
SELECT json_build_object(
  'recorded', (SELECT json_object_agg("group", n) FROM (SELECT "group", count(*) n FROM marketing_campaignmember WHERE occurrence_id IN (SELECT id FROM occ) GROUP BY 1) x),
  'recorded_md5', (SELECT md5(string_agg(member_id || "group", ',' ORDER BY member_id)) FROM marketing_campaignmember WHERE occurrence_id IN (SELECT id FROM occ)),
  'grants', (SELECT json_object_agg(action_id, n) FROM (SELECT action_id, count(*) n FROM marketing_campaigngrant WHERE occurrence_id IN (SELECT id FROM occ) GROUP BY 1) x),
  'grants_md5', (SELECT md5(string_agg(action_id || ':' || member_id || ':' || cost, ',' ORDER BY action_id, member_id)) FROM marketing_campaigngrant WHERE occurrence_id IN (SELECT id FROM occ)),
  'coupons', (SELECT count(*) FROM coupons_coupon WHERE cause_kind = 'campaign'),
  'coupons_md5', (SELECT md5(string_agg(member_id || status || source || valid_until::text, ',' ORDER BY member_id)) FROM coupons_coupon WHERE cause_kind = 'campaign'),
  'coupon_codes', (SELECT count(DISTINCT code) FROM coupons_coupon WHERE cause_kind = 'campaign' AND code ~ '^[2-9A-HJKMNP-Z]{16}$'),
  'messages', (SELECT json_object_agg(status || ' ' || reason, n) FROM (SELECT status, reason, count(*) n FROM marketing_message GROUP BY 1, 2) x),
  'messages_md5', (SELECT md5(string_agg(concat_ws('|', member_id, status, reason, title, body, link, values::text), ',' ORDER BY member_id)) FROM marketing_message),
  'issued', (SELECT issued FROM coupons_coupontemplate WHERE id = %(template)s),
  'spent', (SELECT json_object_agg(kind || ' ' || period, spent) FROM marketing_campaignspend WHERE campaign_id = %(campaign)s)
)
"""

CHECKS_SQL = """
WITH occ AS (SELECT id FROM marketing_campaignoccurrence WHERE campaign_id = %(campaign)s AND key NOT LIKE 'prior-%%'),
control AS (SELECT id FROM members_member WHERE substr(md5(%(control_salt)s || ':' || id::text), 1, 6) < %(control)s)
SELECT json_build_object(
  'coupon_twice', (SELECT count(*) FROM (SELECT member_id FROM coupons_coupon WHERE cause_kind = 'campaign' GROUP BY member_id HAVING count(*) > 1) x),
  'past_limit', (SELECT count(*) FROM (SELECT member_id FROM marketing_campaigngrant WHERE action_id = %(coupon_action)s GROUP BY member_id HAVING count(*) > %(limit)s) x),
  'oversold', (SELECT greatest(issued - total_stock, 0) FROM coupons_coupontemplate WHERE id = %(template)s),
  'stock_not_coupons', (SELECT issued FROM coupons_coupontemplate WHERE id = %(template)s) - (SELECT count(*) FROM coupons_coupon WHERE template_id = %(template)s),
  'over_budget', (SELECT coalesce(sum(cost), 0) FROM marketing_campaigngrant WHERE action_id = %(coupon_action)s) - %(budget)s > 0,
  'to_control_group', (SELECT count(*) FROM marketing_campaigngrant WHERE member_id IN (SELECT id FROM control) AND occurrence_id IN (SELECT id FROM occ))
                    + (SELECT count(*) FROM marketing_message WHERE member_id IN (SELECT id FROM control)),
  'to_holdout', (SELECT count(*) FROM marketing_campaigngrant g JOIN marketing_campaignmember cm ON cm.member_id = g.member_id AND cm.occurrence_id = g.occurrence_id
                 WHERE cm."group" = 'holdout' AND g.occurrence_id IN (SELECT id FROM occ))
)
"""


def _threshold(percent: Decimal) -> str:  # as apps.marketing.audience._threshold
    return f"{int(Decimal(percent) * 16**HASH_DIGITS / 100):0{HASH_DIGITS}x}"


def configure(members: int) -> dict:
    """The campaign and what it names, through Django (in a process set up on the database);
    returns the ids and values the SQL needs."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.coupons.models import CouponTemplate
    from apps.marketing.audience import control_group
    from apps.marketing.campaigns import occurrence_key
    from apps.marketing.models import (
        Campaign,
        CampaignAction,
        ControlGroup,
        Message,
        MessageTemplate,
    )
    from apps.members.models import Segment, Tag
    from apps.stores.models import Store
    from apps.tiers.models import Tier

    now = timezone.now()
    tiers = [
        Tier.objects.create(code=code, name=name, rank=rank, growth_threshold=threshold)
        for rank, (code, name, threshold) in enumerate(
            [("normal", "普通会员", 0), ("silver", "白银会员", 500), ("gold", "黄金会员", 2000)]
        )
    ]
    stores = [
        Store.objects.create(
            code=f"B{n:03d}", name=f"门店{n}", kind=Store.Kind.DIRECT, city="上海市", address="-"
        )
        for n in range(1, 21)
    ]
    tag = Tag.objects.create(name="常客")
    segment = Segment.objects.create(name="常客")
    segment.tags_any.add(tag)
    ControlGroup.objects.filter(pk=control_group().pk).update(percent=Decimal("5"))
    control = control_group()
    template = CouponTemplate.objects.create(
        name="会员日满100减20",
        kind="threshold",
        threshold=Decimal("100"),
        amount=Decimal("20"),
        valid_until=now + timedelta(days=60),
        claimable=False,
        total_stock=members,
    )
    message = MessageTemplate.objects.create(
        name="会员日",
        channel="inbox",
        purpose="marketing",
        title="{name}，会员日到了",
        body="{tier}专享：{coupon}已到账，您有 {points} 积分，{store}等您。",
        link="/m/coupons",
    )
    campaign = Campaign.objects.create(
        name="每月会员日",
        audience=Campaign.Audience.SEGMENT,
        segment=segment,
        trigger=Campaign.Trigger.MONTHLY,
        month_day=min(timezone.localdate(now).day, 28),
        starts_at=now - timedelta(days=90),
        holdout_percent=Decimal("10"),
        budget_coupons=members,
    )
    coupon = CampaignAction.objects.create(
        campaign=campaign, kind="coupon", coupon_template=template, per_member_limit=COUPON_LIMIT
    )
    inbox = CampaignAction.objects.create(
        campaign=campaign, kind="message", message_template=message
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    return {
        "campaign": campaign.pk,
        "key": occurrence_key(campaign, now),
        "tag": tag.pk,
        "tiers": [tier.pk for tier in tiers],
        "stores": [store.pk for store in stores],
        "template": template.pk,
        "coupon_name": template.name,
        "valid_until": template.valid_until,
        "message_template": message.pk,
        "coupon_action": coupon.pk,
        "message_action": inbox.pk,
        "delivery_unknown": Message.Delivery.UNKNOWN.value,
        "limit": COUPON_LIMIT,
        "budget": members,
        "salt": campaign.salt,
        "holdout": _threshold(campaign.holdout_percent),
        "control_salt": control.salt,
        "control": _threshold(control.percent),
    }


def _setup_side(url: str, members: int, queue) -> None:
    use_django(url, CELERY_BROKER_URL=BROKER)
    queue.put(configure(members))


def generate(url: str, members: int) -> tuple[dict, float]:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        env=deployed_env(url, CELERY_BROKER_URL=BROKER),
        check=True,
    )
    params = _in_process(_setup_side, url, members)
    with psycopg.connect(url, autocommit=True) as conn:
        run_script(conn, GENERATE, {**params, "members": members})
    return params, time.monotonic() - started


def _in_process(target, *args):
    """`target(*args, queue)` in a fresh process (Django set up there, not here): what it put."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=target, args=(*args, queue))
    worker.start()
    found = queue.get()
    worker.join()
    return found


def huiji_run(campaign_id: int) -> dict:
    """The campaign's run as its Celery task runs it, timed; then run again, which must give
    nothing. In a process set up on the database."""
    from apps.marketing import campaigns
    from apps.marketing.models import CampaignGrant
    from apps.marketing.tasks import campaign_run_task

    started = time.monotonic()
    campaign_run_task(campaign_id)
    seconds = time.monotonic() - started
    grants = CampaignGrant.objects.count()
    rerun = campaigns.campaign_run(campaign_id=campaign_id)
    return {
        "seconds": seconds,
        "chunk": campaigns.CHUNK,
        "rerun_did_nothing": rerun == 0 and CampaignGrant.objects.count() == grants,
    }


def _huiji_side(url: str, campaign_id: int, queue) -> None:
    use_django(url, CELERY_BROKER_URL=BROKER)
    queue.put(huiji_run(campaign_id))


def baseline_run(conn, params: dict, batch: int = CHUNK) -> float:
    """The same run by hand-written SQL on `conn` (psycopg); its wall time."""
    started = time.monotonic()
    with conn.transaction():
        occurrence = run_script(conn, BASELINE_START, params)
    after = 0  # each chunk starts past the last one's members, as Huiji's run does
    while after is not None:
        with conn.transaction():
            after = run_script(
                conn,
                BASELINE_CHUNK,
                {
                    **params,
                    "occurrence": occurrence,
                    "after": after,
                    "batch": batch,
                    "minute": minute_letters(),
                },
            )
    return time.monotonic() - started


def run_script(conn, script: str, params: dict):
    """Each statement of the script in turn; the last one's first value."""
    for statement in filter(str.strip, script.split(";\n")):
        cursor = conn.execute(statement, params)
    row = cursor.fetchone() if cursor.description else None
    return row[0] if row else None


def outcome(conn, params: dict) -> tuple[dict, dict]:
    """What the run left (to compare), and the checks (each 0 or false when all is well)."""
    return (
        conn.execute(OUTCOME_SQL, params).fetchone()[0],
        conn.execute(CHECKS_SQL, params).fetchone()[0],
    )


def run_size(members: int) -> dict:
    with fresh_database() as template:
        params, generated_s = generate(template, members)
        print(f"{members:,} members generated in {generated_s:.0f} s")
        with copy_of(template) as url:
            huiji = _in_process(_huiji_side, url, params["campaign"])
            with psycopg.connect(url) as conn:
                huiji_outcome, huiji_checks = outcome(conn, params)
        with copy_of(template) as url, psycopg.connect(url) as conn:
            baseline_s = baseline_run(conn, params, batch=huiji["chunk"])
            baseline_outcome, baseline_checks = outcome(conn, params)
    same = huiji_outcome == baseline_outcome
    ok = not any(huiji_checks.values())
    print(
        f"  Huiji {huiji['seconds']:7.1f} s   SQL {baseline_s:7.1f} s   ratio {huiji['seconds'] / baseline_s:.2f}"
        f"   ({huiji_outcome['recorded']}, {huiji_outcome['coupons']:,} coupons, messages {huiji_outcome['messages']})"
    )
    print(
        f"  same outcome: {same}; checks {'passed' if ok else 'FAILED'} {huiji_checks}; "
        f"rerun did nothing: {huiji['rerun_did_nothing']}"
    )
    if not same:
        print(f"  Huiji left {huiji_outcome}\n  SQL left   {baseline_outcome}")
    return {
        "members": members,
        "huiji_s": round(huiji["seconds"], 1),
        "baseline_s": round(baseline_s, 1),
        "ratio": round(huiji["seconds"] / baseline_s, 2),
        "coupons": huiji_outcome["coupons"],
        "messages": sum(huiji_outcome["messages"].values()),
        "same_outcome": same,
        "checks_ok": ok and not any(baseline_checks.values()),
        "rerun_did_nothing": huiji["rerun_did_nothing"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--double", "--scale", action="store_true", help="also run twice the members"
    )
    args = parser.parse_args()
    results = [run_size(args.members)]
    if args.double:
        results.append(run_size(args.members * 2))
    redis_empty(BROKER)
    print("RESULT " + json.dumps(sizes_result("campaign", results)))


if __name__ == "__main__":
    main()
