from celery import shared_task

from apps.members.credentials import member_codes_purge
from apps.members.imports import (
    member_import_check,
    member_import_failed,
    member_import_files_purge,
    member_import_run,
    member_imports_resume,
)
from apps.members.segments import rule_tags_refresh


@shared_task
def rule_tags_refresh_task() -> None:
    rule_tags_refresh()


@shared_task
def member_import_check_task(import_id: int) -> None:
    member_import_check(import_id=import_id)


@shared_task
def member_import_run_task(import_id: int) -> None:
    try:
        member_import_run(import_id=import_id)
    except Exception as exc:
        member_import_failed(import_id=import_id, error=repr(exc))
        raise


@shared_task
def member_codes_purge_task() -> None:
    member_codes_purge()


@shared_task
def member_import_files_purge_task() -> None:
    member_import_files_purge()


@shared_task
def member_imports_resume_task() -> None:
    member_imports_resume()
