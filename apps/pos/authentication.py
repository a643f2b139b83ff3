"""`Authorization: Api-Key <key>` for the POS API: one key belongs to one store."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.stores.models import PosApiKey, Store
from apps.stores.selectors import pos_key_active
from apps.stores.services import pos_key_touch

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class PosClient:
    """The caller of a POS request: a store's till, through one of the store's keys."""

    key: PosApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def store(self) -> Store:
        return self.key.store

    @property
    def pk(self) -> str:
        return f"store:{self.key.store_id}"

    @property
    def idempotency_scope(self) -> str:
        return self.pk  # a key replaced by a new one of the same store still sees its retries


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as 'Authorization: Api-Key <key>'.")
            )
        key = pos_key_active(header[1])
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is unknown or has been revoked."))
        pos_key_touch(key=key)
        return PosClient(key=key), key

    def authenticate_header(self, request):
        return KEYWORD
