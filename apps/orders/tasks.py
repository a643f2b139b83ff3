from celery import shared_task

from apps.orders.after_sale import refund_request_refund, refund_requests_refund_due
from apps.orders.fulfilment import deliveries_receive_due
from apps.orders.imports import (
    order_import_check,
    order_import_failed,
    order_import_files_purge,
    order_import_run,
    order_imports_resume,
)
from apps.orders.paying import late_payment_refund, late_payments_refund_due, orders_expire_due


@shared_task
def orders_expire_task() -> None:
    orders_expire_due()
    late_payments_refund_due()
    refund_requests_refund_due()


@shared_task
def late_payment_refund_task(late_payment_id: int) -> None:
    """Started once a late payment is recorded; one the gateway could not take is asked
    again by orders_expire_task."""
    late_payment_refund(late_payment_id=late_payment_id)


@shared_task
def refund_request_refund_task(request_id: int) -> None:
    """Started once a refund request is approved; one the gateway could not take is asked
    again by orders_expire_task."""
    refund_request_refund(request_id=request_id)


@shared_task
def order_import_check_task(import_id: int) -> None:
    order_import_check(import_id=import_id)


@shared_task
def order_import_run_task(import_id: int) -> None:
    try:
        order_import_run(import_id=import_id)
    except Exception as exc:
        order_import_failed(import_id=import_id, error=repr(exc))
        raise


@shared_task
def order_import_files_purge_task() -> None:
    order_import_files_purge()


@shared_task
def deliveries_receive_task() -> None:
    deliveries_receive_due()


@shared_task
def order_imports_resume_task() -> None:
    order_imports_resume()
