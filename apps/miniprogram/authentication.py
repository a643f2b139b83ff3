"""`Authorization: Bearer <token>` for the mini-program: the token from auth/login."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from apps.core.api.authentication import HeaderTokenAuthentication
from apps.members.credentials import member_token_member
from apps.members.models import Member


@dataclass(frozen=True)
class MemberClient:
    """The caller of a mini-program request: one signed-in member."""

    member: Member

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return f"member:{self.member.pk}"

    @property
    def idempotency_scope(self) -> str:
        return self.pk


class MemberTokenAuthentication(HeaderTokenAuthentication):
    keyword = "Bearer"
    rejected_message = _("Please sign in again: this session has ended.")

    def user_for(self, token: str) -> MemberClient | None:
        member = member_token_member(token)
        return MemberClient(member=member) if member else None
