"""Import N members from a platform's CSV through the import service, and the same database
work in hand-written SQL with psycopg, in the same run on the same PostgreSQL.

    python -m bench.member_import --rows 100000

A tenth of the phones already belong to members (they merge), and one row in fifty is
broken (it is rejected), as in a real export. Prints both times, rows per second, the
ratio (Huiji's time over the baseline's) and whether both imported the same members.
"""

import argparse
import csv
import io
import json
import random
import re
import secrets
import time

import psycopg

from bench._db import BROKER, copy_of, fresh_database, redis_empty, use_django

PREFIXES = [
    "130",
    "131",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "158",
    "186",
    "187",
    "188",
    "199",
]


def make_csv(rows: int, rng: random.Random) -> tuple[bytes, list[str]]:
    phones = set()
    while len(phones) < rows:
        phones.add(rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}")
    phones = sorted(phones)
    rng.shuffle(phones)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["手机号", "姓名", "生日", "用户ID", "积分"])
    for n, phone in enumerate(phones):
        shown = phone if n % 50 else phone[:7]  # one row in fifty has a broken number
        writer.writerow(
            [
                shown,
                f"会员{n}",
                f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                f"yz-{n}",
                rng.randint(0, 500),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig"), phones


def seed_existing(database_url: str, phones: list[str]) -> None:
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY members_member (phone, name, gender, source, status, joined_at, "
            "marketing_consent, "
            "consent_channel, referral_code, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for phone in phones:
            copy.write_row(
                [
                    phone,
                    "",
                    "",
                    "store",
                    "active",
                    "2025-01-01",
                    False,
                    "",
                    secrets.token_hex(5),
                    "2025-01-01",
                    "2025-01-01",
                ]
            )


def huiji(content: bytes) -> tuple[float, dict]:
    from apps.members.imports import (
        member_import_check,
        member_import_run,
        member_import_summary,
        member_import_upload,
    )

    started = time.perf_counter()
    upload = member_import_upload(file_name="youzan.csv", content=content, platform="youzan")
    checked = member_import_check(import_id=upload.pk)  # the job's work, timed here too
    member_import_run(import_id=checked.pk)
    elapsed = time.perf_counter() - started
    return elapsed, member_import_summary(checked)


MOBILE = re.compile(r"^1[3-9]\d{9}$")


def baseline(database_url: str, content: bytes) -> tuple[float, dict]:
    """The same work by hand: parse, look up phones, insert new members, fill, link ids."""
    started = time.perf_counter()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
    good, rejected, seen = [], 0, set()
    for phone, name, birthday, platform_id, _points in rows:
        phone = re.sub(r"[\s-]", "", phone)
        if not MOBILE.match(phone) or phone in seen:
            rejected += 1
            continue
        seen.add(phone)
        good.append((phone, name, birthday, platform_id))
    created = merged = 0
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        for start in range(0, len(good), 2000):
            chunk = good[start : start + 2000]
            cur.execute(
                "SELECT phone, id FROM members_member WHERE phone = ANY(%s)",
                [[r[0] for r in chunk]],
            )
            existing = dict(cur.fetchall())
            new = [r for r in chunk if r[0] not in existing]
            cur.executemany(
                "INSERT INTO members_member (phone, name, birthday, gender, source, status, "
                "joined_at, marketing_consent, consent_channel, referral_code, created_at, "
                "updated_at) VALUES (%s, %s, %s, '', 'import:youzan', 'active', now(), false, '', "
                "%s, now(), now()) RETURNING id",
                [(r[0], r[1], r[2], secrets.token_hex(5)) for r in new],
                returning=True,
            )
            ids = []
            while True:
                ids.append(cur.fetchone()[0])
                if not cur.nextset():
                    break
            made = dict(zip([r[0] for r in new], ids, strict=True))
            cur.executemany(
                "UPDATE members_member SET name = %s, birthday = %s WHERE id = %s AND name = ''",
                [(r[1], r[2], existing[r[0]]) for r in chunk if r[0] in existing],
            )
            cur.executemany(
                "INSERT INTO members_memberidentity (member_id, kind, value, created_at) "
                "VALUES (%s, 'youzan', %s, now()) ON CONFLICT DO NOTHING",
                [(existing.get(r[0]) or made[r[0]], r[3]) for r in chunk],
            )
            created, merged = created + len(new), merged + len(chunk) - len(new)
        conn.commit()
    return time.perf_counter() - started, {
        "created": created,
        "merged": merged,
        "rejected": rejected,
    }


def members_and_duplicates(database_url: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*), count(*) - count(DISTINCT phone) FROM members_member"
        ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    content, phones = make_csv(args.rows, rng)
    existing = [p for n, p in enumerate(phones) if n % 10 == 1]
    with fresh_database() as url:
        use_django(url, CELERY_BROKER_URL=BROKER)  # its events go to a worker, as deployed
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        seed_existing(url, existing)
        connections.close_all()  # a database is copied only while nobody is connected to it
        with copy_of(url) as baseline_url:
            print(f"{args.rows} rows, {len(existing)} phones already members")
            huiji_s, huiji_counts = huiji(content)
            print(f"huiji:    {huiji_s:7.2f} s  {args.rows / huiji_s:8.0f} rows/s  {huiji_counts}")
            huiji_members, duplicates = members_and_duplicates(url)
            base_s, base_counts = baseline(baseline_url, content)
            print(f"baseline: {base_s:7.2f} s  {args.rows / base_s:8.0f} rows/s  {base_counts}")
            base_members, _ = members_and_duplicates(baseline_url)

    redis_empty(BROKER)
    same = huiji_counts == base_counts and huiji_members == base_members
    print(f"same result: {same} (members {huiji_members} vs {base_members})")
    print(f"duplicate phones: {duplicates}")
    result = {
        "bench": "member_import",
        "rows": args.rows,
        "huiji_s": round(huiji_s, 2),
        "baseline_s": round(base_s, 2),
        "ratio": round(huiji_s / base_s, 2),
        "huiji_rows_per_s": round(args.rows / huiji_s),
        "errors": 0 if same else 1,
        "duplicates": duplicates,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
