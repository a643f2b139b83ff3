"""The life cycle of an import of a spreadsheet HQ uploads (members, platform orders).

An upload is kept in a model with `file_name`, `content`, `status` (the `Status` choices
checking, invalid, checked, running, done, failed), `preview`, `error`, `created_by`,
`finished_at` and `file_deleted_at`. `import_upload` keeps the file (refused at once when
too large) and starts the app's check task; `import_check` reads it there and stores the
app's dry run; `import_start` starts the app's run task once HQ confirms; `import_run` hands
what the file holds to the app, which imports what is left of it and can be run again;
`import_failed` records why a run stopped; `imports_resume` sends again a check or run whose
task was lost; `import_files_purge` deletes old files.
What a row means, how it is decided and written stay in the app: they are passed in.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.queue import alone, enqueue
from apps.core.spreadsheets import SpreadsheetInvalid, csv_line, upload_check
from apps.core.uploads import upload_files_purge

REJECTED_SHOWN = 50  # rejected rows a dry run lists; the counts cover them all
ERROR_KEPT = 5000  # characters of a failed run's error

Upload = TypeVar("Upload", bound=models.Model)
Item = TypeVar("Item")


def import_upload(
    model: type[Upload], *, check_task, file_name: str, content: bytes, actor=None, **fields
) -> Upload:
    """Keep the file HQ uploaded and start `check_task` with its id after commit; never read
    its rows in the web request. Too large a file, or an .xlsx that would inflate too far,
    is refused before anything is stored."""
    upload_check(file_name, content)
    with transaction.atomic():
        upload = model.objects.create(
            file_name=file_name[:200],
            content=content,
            status=model.Status.CHECKING,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **fields,
        )
        transaction.on_commit(lambda: enqueue(check_task, upload.pk))
    return upload


def import_check(
    model: type[Upload],
    *,
    import_id: int,
    read: Callable[[str, bytes], list],
    dry_run: Callable[[Upload, list], dict[str, Any]],
) -> Upload:
    """Read the upload and store the dry run (`dry_run(upload, rows)` gives the fields to
    store); nothing is imported yet. A file that cannot be read is marked invalid with the
    reason. Safe to run again: an upload already checked is left as it is."""
    upload = model.objects.get(pk=import_id)
    if upload.status != model.Status.CHECKING:
        return upload
    checking = model.objects.filter(pk=import_id, status=model.Status.CHECKING)
    try:
        rows = read(upload.file_name, bytes(upload.content))
    except SpreadsheetInvalid as error:
        checking.update(status=model.Status.INVALID, error=error.render())
    else:
        checking.update(status=model.Status.CHECKED, **dry_run(upload, rows))
    upload.refresh_from_db()
    return upload


def dry_run_preview(
    decided: Iterable[tuple[Item, str]],
    *,
    results: Sequence[str],
    rejected_as: str,
    describe: Callable[[Item], dict],
) -> dict[str, Any]:
    """A dry run's preview: how many rows end in each of `results`, and under `rejected_as`
    the first REJECTED_SHOWN rejected ones as `describe` shows them."""
    counts = dict.fromkeys(results, 0)
    rejected = []
    for item, result in decided:
        counts[result] += 1
        if result == "rejected" and len(rejected) < REJECTED_SHOWN:
            rejected.append(describe(item))
    return {**counts, rejected_as: rejected}


def import_start(upload: Upload, *, run_task) -> Upload:
    """HQ confirms the dry run (or retries a failed run): `run_task` starts after commit, at
    once on the embedded default. An upload not checked, or whose file is deleted, stays."""
    model = type(upload)
    with transaction.atomic():
        started = model.objects.filter(
            pk=upload.pk,
            status__in=[model.Status.CHECKED, model.Status.FAILED],
            file_deleted_at__isnull=True,
        ).update(status=model.Status.RUNNING, error="")
        if started:
            transaction.on_commit(lambda: enqueue(run_task, upload.pk))
    upload.refresh_from_db()
    return upload


def import_run(
    model: type[Upload],
    *,
    import_id: int,
    read: Callable[[str, bytes], list],
    import_rest: Callable[[Upload, list], None],
) -> Upload:
    """Hand the rows read to `import_rest`, which imports what is left of them, then mark
    the upload done. Safe to run again: a finished upload is not read, and a run started
    while another runs the same upload (sent again by `imports_resume`) leaves it to that
    one."""
    with alone(model._meta.label_lower, import_id) as held:
        upload = model.objects.get(pk=import_id)
        if not held or upload.status == model.Status.DONE:
            return upload
        import_rest(upload, read(upload.file_name, bytes(upload.content)))
        model.objects.filter(pk=import_id).update(
            status=model.Status.DONE, finished_at=timezone.now()
        )
        upload.refresh_from_db()
        return upload


def imports_resume(model: type[models.Model], *, check_task, run_task, now=None) -> int:
    """Send again the check or run of the uploads left checking or running longer than
    JOBS_RESUME_AFTER_MINUTES: their task was lost (the broker was down when it was sent) or
    its worker died. Each is safe to run twice. Returns how many were sent."""
    since = (now or timezone.now()) - timedelta(minutes=settings.JOBS_RESUME_AFTER_MINUTES)
    left = model.objects.filter(
        status__in=[model.Status.CHECKING, model.Status.RUNNING], created_at__lt=since
    )
    sent = 0
    for pk, status in left.order_by("pk").values_list("pk", "status"):
        task = check_task if status == model.Status.CHECKING else run_task
        sent += enqueue(task, pk)
    return sent


def import_failed(model: type[models.Model], *, import_id: int, error: str) -> None:
    model.objects.filter(pk=import_id).update(status=model.Status.FAILED, error=error[:ERROR_KEPT])


def import_files_purge(model: type[models.Model]) -> int:
    """Delete uploaded files past IMPORT_FILE_RETENTION_DAYS, except while they are imported."""
    return upload_files_purge(model, keep=Q(status=model.Status.RUNNING))


# Reports: CSV lines kept in the database, handed out as a file


def report_lines(report: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(report))


def report_rewrite(report: str, change: Callable[[list[str]], list[str]]) -> str:
    """The report with `change` applied to each of its lines (a closed account forgotten)."""
    return "".join(csv_line(change(line)) for line in report_lines(report))
