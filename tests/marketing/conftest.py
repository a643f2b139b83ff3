import pytest

from apps.core.sms import LocmemSmsBackend
from apps.marketing.channels import LocmemWechatMessageBackend


@pytest.fixture(autouse=True)
def _messaging(settings):
    """No quiet hours and no caps unless a test sets them; empty outboxes."""
    settings.MESSAGE_QUIET_HOURS = ""
    settings.MESSAGE_CAPS = ""
    LocmemSmsBackend.outbox.clear()
    LocmemWechatMessageBackend.outbox.clear()
    LocmemWechatMessageBackend.refusing.clear()
    yield
    LocmemSmsBackend.outbox.clear()
    LocmemWechatMessageBackend.outbox.clear()
    LocmemWechatMessageBackend.refusing.clear()
