from django.db import migrations, models

TABLE = "coupons_coupon"


def _code_constraint_and_like_indexes(cursor) -> tuple[str, list[str]]:
    cursor.execute(
        """SELECT c.conname FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
           WHERE c.conrelid = %s::regclass AND c.contype = 'u' AND a.attname = 'code'
             AND cardinality(c.conkey) = 1""",
        [TABLE],
    )
    (constraint,) = cursor.fetchone()
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
        [TABLE, "%(code varchar_pattern_ops)%"],
    )
    return constraint, [name for (name,) in cursor.fetchall()]


def keep_the_unique_index_drop_the_like_one(apps, schema_editor):
    """The unique index a large table already has is kept (renamed), not built again."""
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's inline UNIQUE stays; a later table rebuild takes the constraint
    with schema_editor.connection.cursor() as cursor:
        constraint, likes = _code_constraint_and_like_indexes(cursor)
        schema_editor.execute(
            f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{constraint}" TO "coupon_code_unique"'
        )
        for name in likes:
            schema_editor.execute(f'DROP INDEX "{name}"')


def back(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "coupon_code_unique" TO "{TABLE}_code_key"'
    )
    like = schema_editor._create_index_name(TABLE, ["code"], suffix="_like")  # Django's name
    schema_editor.execute(f'CREATE INDEX "{like}" ON "{TABLE}" ("code" varchar_pattern_ops)')


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0008_resume_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="coupon",
                    name="code",
                    field=models.CharField(max_length=20, verbose_name="code"),
                ),
                migrations.AddConstraint(
                    model_name="coupon",
                    constraint=models.UniqueConstraint(fields=("code",), name="coupon_code_unique"),
                ),
            ],
            database_operations=[
                migrations.RunPython(keep_the_unique_index_drop_the_like_one, back),
            ],
        ),
    ]
