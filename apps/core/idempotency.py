"""Idempotency keys for POST endpoints, exactly as API.md's conventions say.

`@idempotent` wraps an API view's handler. With an `Idempotency-Key` header from an
authenticated client, the key is claimed by inserting a row in the same transaction as
the handler's writes: a replay with the same request gets the stored answer (same status,
same body) and changes nothing; the same key with another request gets 409
`idempotency_conflict`; a concurrent duplicate waits on the unique index and then replays.
Answers that a retry should not repeat (429, 5xx) are not stored.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.core.errors import IdempotencyConflict, Invalid
from apps.core.models import IdempotencyKey
from apps.core.rows import row_insert, row_update

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_MAX_KEY_LENGTH = 255
KEY_REQUIRED = _(
    "Send an Idempotency-Key header with this request, the same one again if you retry it."
)
_PURGE_BATCH = 5000


def idempotent(handler=None, *, required: bool = False):
    """`@idempotent`, or `@idempotent(required=True)` for a write a client must be able to
    retry safely (a points exchange): without a key it answers 400 and does nothing, rather
    than make up a key of its own that a retry would not send again."""
    if handler is None:
        return functools.partial(idempotent, required=required)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        scope = client_scope(request)
        if not key and required:
            raise Invalid(KEY_REQUIRED)
        if not key or scope is None:
            return handler(view, request, *args, **kwargs)
        if len(key) > _MAX_KEY_LENGTH:
            raise Invalid(_("The Idempotency-Key header may have at most 255 characters."))
        fingerprint = request_fingerprint(request)
        failed = False
        with transaction.atomic():
            record, claimed = _claim(scope, key, fingerprint)
            if not claimed:
                return _replayed(record, fingerprint)
            try:
                response = handler(view, request, *args, **kwargs)
            except Exception as exc:
                # Turns a domain or DRF error into its answer; anything else propagates and
                # rolls the key back with everything else, so a retry runs afresh.
                response, failed = view.handle_exception(exc), True
            if failed or not _worth_replaying(response.status_code):
                transaction.set_rollback(True)  # the handler's writes are undone, the key too
            else:
                _remember(record, response)
        if failed and _worth_replaying(response.status_code):
            # The error's answer is kept under the key, in a transaction of its own: no
            # savepoint around every handler just for the answers that fail.
            with transaction.atomic():
                record, claimed = _claim(scope, key, fingerprint)
                if not claimed:  # a retry came in between and has its own answer
                    return _replayed(record, fingerprint)
                _remember(record, response)
        return response

    wrapper.idempotent = True  # the OpenAPI schema documents its header and 409 (api/schema.py)
    wrapper.idempotency_required = required
    return wrapper


def _replayed(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    return Response(
        json.loads(record.response_body),
        status=record.response_status,
        headers={REPLAY_HEADER: "true"},
    )


def _remember(record: IdempotencyKey, response) -> None:
    record.response_status = response.status_code
    record.response_body = JSONRenderer().render(response.data).decode() or "null"
    row_update(record, "response_status", "response_body")


def client_scope(request) -> str | None:
    """Whose keys these are: a key is only unique per client. Anonymous requests have none."""
    user = request.user
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, "idempotency_scope", None) or f"user:{user.pk}"


def request_fingerprint(request) -> str:
    canonical = json.dumps(
        [request.method, request.get_full_path(), request.data],
        sort_keys=True,
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(scope: str, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    record = IdempotencyKey(scope=scope, key=key, fingerprint=fingerprint)
    if row_insert(record, unless_taken="idempotency_key_unique"):
        return record, True
    # Another request holds or held this key; its transaction has committed by now.
    return IdempotencyKey.objects.get(scope=scope, key=key), False


def _worth_replaying(status: int) -> bool:
    return status < 500 and status != 429


def idempotency_keys_purge(*, now=None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_DAYS, in batches. Safe to run again."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IDEMPOTENCY_KEY_TTL_DAYS)
    deleted = 0
    while True:
        batch = IdempotencyKey.objects.filter(created_at__lt=cutoff).values("pk")[:_PURGE_BATCH]
        count, _by_model = IdempotencyKey.objects.filter(pk__in=batch).delete()
        deleted += count
        if count < _PURGE_BATCH:
            return deleted
