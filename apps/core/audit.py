"""The audit log of staff actions: who, what, when, before and after."""

import json

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast
from django.forms.models import model_to_dict

from apps.core.clients import client_ip
from apps.core.models import AuditEntry
from apps.core.phones import MobileField, mask_phone

# Fields whose values never go into the log; a change to one is recorded as "changed".
SECRET_FIELDS = frozenset({"password", "key_hash"})
SECRET_MARK = "******"
# What stands where a deleted member's phone or name was.
FORGOTTEN_MARK = "***"


def snapshot(instance: models.Model) -> dict:
    """A record's own fields as JSON-friendly values (foreign keys as ids).

    Mobile numbers are kept masked: the log is read by HQ staff who may not see them; a
    file is kept as its name.
    """
    fields = instance._meta.concrete_fields
    data = model_to_dict(instance, fields=[f.name for f in fields])
    mobiles = {f.name for f in fields if isinstance(f, MobileField)}
    return {
        name: SECRET_MARK
        if name in SECRET_FIELDS
        else mask_phone(value or "")
        if name in mobiles
        else value.name or ""
        if isinstance(value, FieldFile)
        else value
        for name, value in data.items()
    }


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    ip: str | None = None,
) -> AuditEntry:
    actor_is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry.objects.create(
        actor=actor if actor_is_user else None,
        actor_label=actor.get_username() if actor_is_user else str(actor or "system"),
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        reason=reason,
        ip=ip,
    )


def request_ip(request) -> str | None:
    """The address the log records: the client's, by the one rule of apps.core.clients."""
    return client_ip(request)


def sign_in_lockout_record(sender, request, username, ip_address, **kwargs) -> None:
    """django-axes locked a username out at an address (its `user_locked_out` signal, sent on
    each failure from the limit on): one entry, when the limit is reached."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures != settings.AXES_FAILURE_LIMIT:
        return
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(
        actor=None,
        action="login.locked_out",
        target=user,
        after={"username": username or "", "failures": failures, "path": request.path},
        # the full address: axes' own `ip_address` is the requester it counts (an IPv6 /64)
        ip=request_ip(request),
    )


def audit_forget(
    *, target: models.Model, texts: list[str], label: str, shared_texts: list[str] = ()
) -> int:
    """A person's data leaves the audit log while its entries stay (PIPL). The entries about
    `target` are labelled `label` instead and lose `texts` and `shared_texts` from their label,
    reason and before/after; any other entry that holds one of `texts` (a full phone, a name)
    loses it too. `shared_texts` may belong to others as well (a masked phone), so they are
    taken only from the target's own entries. The admin's history of the target is labelled
    `label` too. Returns how many audit entries changed."""
    texts = [text for text in dict.fromkeys(texts) if text]
    shared_texts = [text for text in dict.fromkeys(shared_texts) if text]
    target_type = ContentType.objects.get_for_model(target)
    mentions = Q(target_type=target_type, target_id=str(target.pk))
    for text in texts:
        # jsonb as text keeps Chinese as it is; SQLite's JSON escapes it.
        for form in {text, json.dumps(text)[1:-1]}:
            for column in ("target_label", "reason", "before_text", "after_text"):
                mentions |= Q(**{f"{column}__contains": form})
    entries = AuditEntry.objects.annotate(
        before_text=Cast("before", models.TextField()), after_text=Cast("after", models.TextField())
    ).filter(mentions)
    changed = []
    for entry in entries.order_by("pk"):
        forgotten = texts
        if entry.target_type_id == target_type.pk and entry.target_id == str(target.pk):
            entry.target_label = label
            forgotten = texts + shared_texts
        entry.target_label = _without(entry.target_label, forgotten)
        entry.reason = _without(entry.reason, forgotten)
        entry.before = _without(entry.before, forgotten)
        entry.after = _without(entry.after, forgotten)
        changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["target_label", "reason", "before", "after"])
    # The console's own history of the record (its "History" page) names it too.
    LogEntry.objects.filter(content_type=target_type, object_id=str(target.pk)).update(
        object_repr=label
    )
    return len(changed)


def _without(value, texts: list[str]):
    """`value` (text or JSON) with each of `texts` in its strings replaced by ***."""
    if isinstance(value, str):
        for text in texts:
            value = value.replace(text, FORGOTTEN_MARK)
        return value
    if isinstance(value, dict):
        return {key: _without(item, texts) for key, item in value.items()}
    if isinstance(value, list):
        return [_without(item, texts) for item in value]
    return value
