"""Text messages go through one backend, chosen by SMS_BACKEND.

The console backend (the embedded default) prints the message; a real gateway is a class
with the same `send` method, named in SMS_BACKEND. Messages are sent after the
transaction that asked for them commits, never inside it.
"""

import sys

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


class ConsoleSmsBackend:
    """Prints the message where whoever runs the server can read it: the demo's gateway."""

    def send(self, phone: str, message: str) -> None:
        sys.stdout.write(f"[SMS to {phone}] {message}\n")
        sys.stdout.flush()


class LocmemSmsBackend:
    """Keeps messages in `outbox`, for tests."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, message: str) -> None:
        self.outbox.append((phone, message))


def sms_send(*, phone: str, message: str) -> None:
    backend = import_string(settings.SMS_BACKEND)()
    transaction.on_commit(lambda: backend.send(phone, message))
