"""Uploaded files kept in a model's `content` (imports): deleted after the retention period."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

BATCH = 200


def upload_files_purge(model: type[models.Model], *, keep: models.Q, now=None) -> int:
    """Delete the files of `model`'s uploads older than IMPORT_FILE_RETENTION_DAYS, except
    those `keep` selects (an import running now), a batch at a time. The row, its dry run and
    its report stay; `file_deleted_at` says when the file went. Safe to run again: a file
    already deleted is not selected. Returns how many files were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    due = model.objects.filter(created_at__lt=cutoff, file_deleted_at__isnull=True).exclude(keep)
    deleted = 0
    while batch := list(due.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        deleted += (
            model.objects.filter(pk__in=batch, file_deleted_at__isnull=True)
            .exclude(keep)
            .update(content=b"", file_deleted_at=timezone.now())
        )
    return deleted
