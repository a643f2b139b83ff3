"""The words the pages' scripts put on screen, translated like every other message
(config/locale) and handed to the scripts as JSON in the page (static/m/js/i18n.js).
Placeholders in braces ({name}) are filled in by the script."""

from django.utils.translation import gettext_lazy as _

from apps.members.models import PromoterBinding
from apps.orders.models import Fulfilment, Order, RefundRequest
from apps.points.models import PointsWindow
from apps.referrals.models import Commission, Withdrawal
from apps.tiers.models import TierChannelBenefit

MESSAGES = {
    "error": _("Something went wrong. Please try again."),
    "offline": _("No connection. Check the network and try again."),
    "retry": _("Try again"),
    "home_store": _("Welcome! {store} is your home store."),
    "home_store_kept": _("Your home store stays {store}. This visit is recorded here."),
    "code_sent": _("Code sent. It may take a minute to arrive."),
    "resend_in": _("Resend in {seconds} s"),
    "send_code": _("Send code"),
    "to_next_tier": _("{growth} more growth value to {tier}"),
    "top_tier": _("You are at the top tier."),
    "to_keep_by": _("{growth} more growth value by {date} keeps {tier}"),
    "tier_kept": _("Enough growth value to keep {tier} at its review on {date}"),
    "benefit_discount": _("{percent}% off as a member"),
    "benefit_channel_discount": _("{percent}% off in {channel}"),
    "benefit_points": _("{multiplier} × points on every purchase"),
    "benefit_birthday": _("Birthday gift: {gift}"),
    "benefit_free_shipping": _("Free delivery"),
    "benefit_members_only": _("Members-only products"),
    "benefits_none": _("Earn growth value to reach a tier with benefits."),
    "expiring": _("{amount} points expire on {date}"),
    "refresh_in": _("New code in {seconds} s"),
    "valid_until": _("Valid until {date}"),
    "valid_days": _("Valid for {days} days from claiming"),
    "valid_days_until": _("Valid for {days} days from claiming, until {date} at the latest"),
    "at_most_off": _("at most ¥{amount} off"),
    "usable_channels": _("Use it in: {channels}"),
    "usable_stores": _("Only at: {stores}"),
    "every_store": _("At every store"),
    "kind_threshold": _("¥{amount} off orders of ¥{threshold} or more"),
    "kind_percent": _("{percent}% off"),
    "kind_cash": _("¥{amount} off"),
    "kind_gift": _("A gift at the counter"),
    "kind_shipping": _("Free delivery"),
    "claim": _("Claim"),
    "claiming": _("Claiming…"),
    "claimed": _("Claimed: it is in your wallet."),
    "remaining": _("{count} left"),
    "unlimited": _("Plenty left"),
    "per_member": _("Up to {limit} per member, you have {claimed}"),
    "show_qr": _("QR code of coupon {name}"),
    "saved": _("Saved."),
    "points_earned": _("{points} points earned"),
    "quantity": _("× {quantity}"),
    "cancelled": _("The order is cancelled."),
    # Paying a store by its pay QR (store_pay.js)
    "tier_benefit": _("{tier}: {percent}% off here"),
    "use_points": _("Use my points ({points} available)"),
    "amount_invalid": _("Type the amount in yuan, e.g. 128.00"),
    "join_saves": _("Join {store} as you pay and save ¥{amount} on this payment."),
    "join_and_pay": _("Join and pay ¥{amount}"),
    "pay_amount": _("Pay ¥{amount}"),
    "paying": _("Paying…"),
    "points_to_earn": _("You earn {points} points with this payment"),
    "order_number": _("Order {order_no}"),
    "open_in_wechat": _("Open this page in WeChat to pay with WeChat Pay."),
    "pay_not_done": _("The payment was not made. You can try again."),
    "pay_pending": _("WeChat Pay has not confirmed the payment yet: see it in My orders."),
    # The store's mall, the cart and the checkout (landing.js, product.js, cart.js, checkout.js)
    "my_price": _("My price"),
    "members_only": _("Members only"),
    "stock_in_stock": _("In stock"),
    "stock_low": _("Only a few left"),
    "stock_out_of_stock": _("Sold out"),
    "all_categories": _("All"),
    "no_such_sku": _("This combination is not sold: choose another."),
    "no_store": _("Open the product from a store's mall to buy it."),
    "cart_other_store": _(
        "Your cart holds products of {store}: adding this one starts a new cart."
    ),
    "start_new_cart": _("Start a new cart with this"),
    "add_to_cart": _("Add to cart"),
    "added": _("Added: {count} products in the cart, {payable} to pay."),
    "cart_of": _("From the mall of {store}"),
    "off_sale": _("No longer sold here"),
    "one_less": _("One less {name}"),
    "one_more": _("One more {name}"),
    "quantity_of": _("Quantity of {name}"),
    "remove": _("Remove"),
    "remove_line": _("Remove {name}"),
    "pickup_at": _("Pick it up at {store}"),
    # An online order's page (order.js)
    "pickup_qr": _("Pickup code {code} as a QR code"),
    "tracking": _("{carrier} tracking number {tracking_no}"),
    "store_note": _("The store says: {note}"),
    "withdraw": _("Withdraw the request"),
    "withdrawn": _("The request is withdrawn."),
    "refund_how_many": _("{name}: how many back"),
    "refund_asked": _("Refund requested: the store will answer soon."),
    "received": _("Thank you: the order is received."),
    # The inbox (inbox.js) and the card's inbox link and points windows (card.js)
    "inbox_unread": _("Messages: {count} unread"),
    "inbox_all_read": _("Messages"),
    "mark_read": _("Mark as read"),
    "marked_read": _("Marked as read."),
    "unread": _("Unread"),
    "open_link": _("Open"),
    "window_open_until": _("{use}: open during {name} until {date}"),
    "window_next": _("{use} opens again on {date} ({name})"),
    "window_none": _("{use} is closed for now"),
    # Promoting (promoter.js)
    "promoter_applied": _("Your application is waiting for HQ's decision."),
    "promoter_approved": _("You are a promoter: share your link."),
    "promoter_refused": _("Your application was refused."),
    "promoter_suspended": _("Your promoting is suspended: what you earned stays yours."),
    "applied_applied": _("Application sent: HQ will decide soon."),
    "applied_approved": _("Welcome: you are a promoter now."),
    "link_copied": _("Link copied: share it with your friends."),
    "commission_level": _("Level {level}"),
    "available_on": _("available from {date}"),
    "withdrawal_asked": _("Withdrawal of {amount} asked: finance will review it."),
    "withdrawal_confirm_how": _(
        "Open our mini-program in WeChat and confirm receipt of this withdrawal within 24 "
        "hours. If you do not, WeChat cancels it and the money is available again here."
    ),
    "withdrawal_confirm_open": _("Confirm receipt in the mini-program"),
    "invite_copied": _("Link copied: send it to a friend."),
    "invite_copy_by_hand": _("Select the link and copy it."),
    "invited_count": _("{count} friends joined with your link"),
    "reward_waiting": _("no first purchase yet"),
    "reward_pending": _("reward pending"),
    "reward_rewarded": _("rewarded"),
    "reward_taken_back": _("reward taken back: the order was refunded"),
    "reward_limit_reached": _("your reward limit reached"),
    "reward_none": _("no reward"),
}


def page_messages() -> dict[str, str]:
    words = {key: str(message) for key, message in MESSAGES.items()}
    words.update({f"order_{value}": str(label) for value, label in Order.Status.choices})
    for prefix, choices in [
        ("fulfilment_kind", Fulfilment.Kind.choices),
        ("fulfilment", Fulfilment.Status.choices),
        ("refund_status", RefundRequest.Status.choices),
        ("refund_reason", RefundRequest.Reason.choices),
        ("commission", Commission.Status.choices),
        ("withdrawal", Withdrawal.Status.choices),
        ("source", PromoterBinding.Source.choices),
    ]:
        words.update({f"{prefix}_{value}": str(label) for value, label in choices})
    words.update({f"use_{value}": str(label) for value, label in PointsWindow.Use.choices})
    # a tier's channel benefits and a coupon's channels name the same three channels
    words.update(
        {f"channel_{value}": str(label) for value, label in TierChannelBenefit.Channel.choices}
    )
    return words
