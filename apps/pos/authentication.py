"""`Authorization: Api-Key <key>` for the POS API: one key belongs to one store."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from apps.core.api.authentication import HeaderTokenAuthentication
from apps.stores.models import PosApiKey, Store
from apps.stores.rules import store_open_check
from apps.stores.selectors import pos_key_active
from apps.stores.services import pos_key_touch


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


class ApiKeyAuthentication(HeaderTokenAuthentication):
    keyword = "Api-Key"
    rejected_message = _("This API key is unknown or has been revoked.")

    def user_for(self, token: str) -> PosClient | None:
        key = pos_key_active(token)
        if key is None:
            return None
        # The key's row came with its store's: a closed or suspended store costs no query.
        store_open_check(key.store)
        pos_key_touch(key=key)
        return PosClient(key=key)
