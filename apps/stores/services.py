import secrets

from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.stores.models import PosApiKey, Store
from apps.stores.rules import pos_key_hash

POS_KEY_PREFIX = "hj_"


@transaction.atomic
def pos_key_create(
    *, store: Store, name: str, actor=None, raw_key: str | None = None
) -> tuple[PosApiKey, str]:
    """Make a POS API key for a store. Returns the record and the key, which is never stored.

    `raw_key` is for the demo data only, which prints a key it can show again.
    """
    raw_key = raw_key or POS_KEY_PREFIX + secrets.token_urlsafe(32)
    key = PosApiKey.objects.create(
        store=store,
        name=name,
        prefix=raw_key[:10],
        key_hash=pos_key_hash(raw_key),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor, action="pos_key.create", target=key, after={"store": store.code, "name": name}
    )
    return key, raw_key


@transaction.atomic
def pos_key_revoke(*, key: PosApiKey, actor=None, reason: str = "") -> PosApiKey:
    revoked = PosApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit_record(actor=actor, action="pos_key.revoke", target=key, reason=reason)
    return key


def pos_key_touch(*, key: PosApiKey) -> None:
    """Note that a key was used, at most once a minute so that a busy till costs no writes."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        PosApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
