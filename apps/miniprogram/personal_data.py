"""`me/export`: everything Huiji keeps about a member, each app's part from that app."""

from apps.coupons.personal_data import member_coupons_data
from apps.marketing.personal_data import member_messages_data
from apps.members.exports import member_personal_data
from apps.members.models import Member
from apps.orders.personal_data import member_cart_data, member_orders_data
from apps.points.personal_data import member_points_data
from apps.referrals.personal_data import member_promoter_data, member_referral_data
from apps.tiers.personal_data import member_tier_data


def member_export(member: Member) -> dict:
    return {
        **member_personal_data(member),
        "tier": member_tier_data(member),
        "points": member_points_data(member),
        "coupons": member_coupons_data(member),
        "orders": member_orders_data(member),
        "cart": member_cart_data(member),
        **member_messages_data(member),
        "promoter": member_promoter_data(member),
        "referral": member_referral_data(member),
    }
