"""Who may see which stores: the one place that answers it (DESIGN.md, invariant 5).

HQ staff see every store when their permissions say so: `is_staff` with the permission
`stores.view_store` (every HQ role has it; a superuser has every permission). `is_staff`
alone opens no store. A dealer's people see the dealer's stores; store people see their
own store. Every dashboard, export and API that shows store data asks
`access_scope(user)` and filters with it; later apps add members and orders through
`scope.filter(queryset, store_field=...)`.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from apps.stores.models import Staff, Store


@dataclass(frozen=True)
class AccessScope:
    is_hq: bool
    store_ids: frozenset[int]

    def stores(self) -> QuerySet[Store]:
        return Store.objects.all() if self.is_hq else Store.objects.filter(pk__in=self.store_ids)

    def allows_store(self, store_id: int | None) -> bool:
        return self.is_hq or store_id in self.store_ids

    def filter(self, queryset: QuerySet, store_field: str = "store") -> QuerySet:
        """Rows of `queryset` whose `store_field` is a store this user may see."""
        if self.is_hq:
            return queryset
        return queryset.filter(**{f"{store_field}__in": self.store_ids})


NOBODY = AccessScope(is_hq=False, store_ids=frozenset())
ALL_STORES_PERMISSION = "stores.view_store"
MANAGE_ALL_STORES_PERMISSION = "stores.change_store"


def sees_all_stores(user) -> bool:
    """HQ staff whose permissions cover every store's dashboards."""
    return bool(user.is_active and user.is_staff and user.has_perm(ALL_STORES_PERMISSION))


def access_scope(user) -> AccessScope:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    if sees_all_stores(user):
        return AccessScope(is_hq=True, store_ids=frozenset())
    return staff_scope(user)


def staff_scope(user) -> AccessScope:
    """The stores a person works in, at the store or at its dealer, whatever HQ permissions
    they also hold: what a till finds members by phone in."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    store_ids = (
        Store.objects.filter(
            Q(staff__user=user, staff__is_active=True)
            | Q(distributor__staff__user=user, distributor__staff__is_active=True)
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    return AccessScope(is_hq=False, store_ids=frozenset(store_ids))


def store_roles(user, store: Store) -> frozenset[str]:
    """The roles a person holds over a store: at the store itself or at its dealer."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    place = Q(store=store)
    if store.distributor_id:
        place |= Q(distributor_id=store.distributor_id)
    return frozenset(
        Staff.objects.filter(place, user=user, is_active=True).values_list("role", flat=True)
    )


# The roles that work a store's till (the dashboard counter): every role a store's or its
# dealer's people hold. HQ does not: a franchise store is a separate business (DESIGN.md,
# Trust) that HQ pays for the points spent and coupons redeemed at its till, so a sale or a
# redemption HQ recorded there would put money and figures (sales, guides' commissions) in
# the store's books that the store never made, and the two settle with each other on those
# books; and a phone typed at a till is a look-up of a member's data that HQ makes in the
# console, under `members.view_member_phone` and audited. A dealer's people do: a dealer is
# the business that runs its stores, is settled with for them, and sees their members.
TILL_ROLES = frozenset({Staff.Role.OWNER, Staff.Role.MANAGER, Staff.Role.CLERK, Staff.Role.GUIDE})


def works_till(user, store: Store) -> bool:
    """Whether `user` may work `store`'s counter: identify members (by phone too), record
    sales, redeem coupons, text members codes. HQ permissions alone never do."""
    return bool(store_roles(user, store) & TILL_ROLES)


def manages_store(user, store: Store) -> bool:
    """HQ staff who may change stores (`stores.change_store`) and see them all, and the
    store's or its dealer's owners and managers: who may give from the store's allowance
    and see the business side of its people."""
    if not user.is_authenticated:
        return False
    if sees_all_stores(user) and user.has_perm(MANAGE_ALL_STORES_PERMISSION):
        return True
    return bool(store_roles(user, store) & {Staff.Role.OWNER, Staff.Role.MANAGER})
