from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.codes import readable_code
from apps.core.models import TimeStampedModel
from apps.core.phones import MobileField, mask_phone
from apps.stores.models import Staff, Store


def new_referral_code(choice=None) -> str:
    return readable_code(8, choice)


class Member(TimeStampedModel):
    """会员: one person, identified by their mainland mobile number, in every channel."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        FROZEN = "frozen", _("frozen")
        DELETED = "deleted", _("deleted")
        MERGED = "merged", _("merged")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("not said")
        FEMALE = "female", _("female")
        MALE = "male", _("male")

    # Null once the member deleted their account or was merged into another one.
    phone = MobileField(_("mobile"), unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender, default="", blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    home_store = models.ForeignKey(
        Store,
        verbose_name=_("home store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="home_members",
    )
    guide = models.ForeignKey(
        Staff,
        verbose_name=_("recruited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recruited_members",
    )
    referrer = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
    )
    source = models.CharField(_("joined through"), max_length=32)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now, db_index=True)
    last_active_at = models.DateTimeField(_("last active at"), null=True, blank=True)
    marketing_consent = models.BooleanField(_("agrees to marketing"), default=False)
    consent_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    consent_channel = models.CharField(_("consent given through"), max_length=32, blank=True)
    referral_code = models.CharField(
        _("referral code"), max_length=12, unique=True, default=new_referral_code
    )
    # Set at joining when the phone is one of a deleted account (DeletedPhone): the welcome
    # (join gift, points and growth, new-member coupons, the referrer's reward, profile and
    # first-purchase bonuses) is once per person, and this one had it.
    returning = models.BooleanField(
        _("joined again"),
        default=False,
        db_default=False,  # rows written by hand (bulk loads) are not returning either
        help_text=_("Joined with the phone of a deleted account: earns no welcome rewards."),
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-joined_at", "-id"]
        permissions = [("view_member_phone", _("Can see members' full phone numbers"))]
        indexes = [models.Index(fields=["home_store", "joined_at"], name="member_store_joined")]
        constraints = [
            models.CheckConstraint(
                condition=Q(phone__isnull=False) | Q(status__in=["deleted", "merged"]),
                name="member_has_phone_unless_gone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or _('member')} {mask_phone(self.phone or '')}".strip()

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone or "")

    @property
    def profile_complete(self) -> bool:
        return bool(self.name and self.gender and self.birthday)


class MemberIdentity(models.Model):
    """An id the member has on a channel: WeChat openid or unionid, Alipay, a platform's id."""

    class Kind(models.TextChoices):
        WECHAT_OPENID = "wechat_openid", _("WeChat openid")
        WECHAT_UNIONID = "wechat_unionid", _("WeChat unionid")
        WECHAT_OA_OPENID = "wechat_oa_openid", _("WeChat official account openid")
        ALIPAY = "alipay", _("Alipay user id")
        YOUZAN = "youzan", _("Youzan")
        MEITUAN = "meituan", _("Meituan")
        ELEME = "eleme", _("Ele.me")
        TMALL = "tmall", _("Tmall")
        JD = "jd", _("JD")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("channel"), max_length=20, choices=Kind)
    value = models.CharField(_("id"), max_length=128)
    created_at = models.DateTimeField(_("linked at"), default=timezone.now)

    class Meta:
        verbose_name = _("channel identity")
        verbose_name_plural = _("channel identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class StoreVisit(models.Model):
    """A member scanned a store's code (到店): counted for visit rates, never moves members."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="visits")
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    guide = models.ForeignKey(
        Staff,
        verbose_name=_("guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("store visit")
        verbose_name_plural = _("store visits")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "created_at"], name="visit_store_time")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.store_id}"


class PromoterBinding(models.Model):
    """A member bound to the promoter (a member too) whose link, poster or code brought
    them (DESIGN.md, Attribution): at most one current binding a member, each kept with its
    source, start and end. Which touch binds is apps.members.attribution's rule; whether the
    promoter may promote is apps.referrals'."""

    class Source(models.TextChoices):
        LINK = "link", _("shared link")
        POSTER = "poster", _("poster")
        STORE_QR = "store_qr", _("store QR code")
        GUIDE_CODE = "guide_code", _("guide code")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="bindings"
    )
    promoter = models.ForeignKey(
        Member, verbose_name=_("promoter"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("bound through"), max_length=16, choices=Source)
    started_at = models.DateTimeField(_("from"), default=timezone.now)
    # None: for good. A binding past its end credits no one.
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    # When another touch replaced it (the member's current binding has none).
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("promoter binding")
        verbose_name_plural = _("promoter bindings")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(replaced_at__isnull=True),
                name="binding_one_current_per_member",
            ),
            models.CheckConstraint(
                condition=~Q(member=models.F("promoter")), name="binding_never_to_self"
            ),
        ]
        indexes = [models.Index(fields=["promoter", "started_at"], name="binding_promoter")]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.promoter_id}"


class StoreBinding(models.Model):
    """A member's home store or guide as bound by a touch (DESIGN.md, Attribution): the
    same record as a promoter's binding, under the same rule with its own settings. The
    current ones are mirrored on `Member.home_store` and `Member.guide`."""

    class Kind(models.TextChoices):
        HOME_STORE = "home_store", _("home store")
        GUIDE = "guide", _("guide")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="store_bindings"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    guide = models.ForeignKey(
        Staff,
        verbose_name=_("guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("bound through"), max_length=16, choices=PromoterBinding.Source)
    started_at = models.DateTimeField(_("from"), default=timezone.now)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("store binding")
        verbose_name_plural = _("store bindings")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind"],
                condition=Q(replaced_at__isnull=True),
                name="store_binding_one_current_each",
            ),
            models.CheckConstraint(
                condition=Q(kind="home_store") | Q(guide__isnull=False),
                name="store_binding_guide_names_guide",
            ),
        ]
        indexes = [models.Index(fields=["guide", "started_at"], name="store_binding_guide")]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.kind} {self.guide_id or self.store_id}"


class Address(TimeStampedModel):
    """收货地址: where a member has goods delivered; an online order copies the one it uses,
    so editing or deleting it never changes an order."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(_("recipient"), max_length=50)
    phone = MobileField(_("mobile"))
    region = models.CharField(
        _("region"),
        max_length=100,
        help_text=_("Province, city and district: 上海市/上海市/徐汇区"),
    )
    detail = models.CharField(_("address"), max_length=200)
    is_default = models.BooleanField(_("default address"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(is_default=True), name="address_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.region} {self.detail}"


class DeletedPhone(models.Model):
    """All Huiji keeps of a deleted account's phone: a keyed hash (HMAC-SHA256, see
    apps.members.returning), which tells that the number joined before without saying
    which number it is."""

    phone_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("phone of a deleted account")
        verbose_name_plural = _("phones of deleted accounts")

    def __str__(self) -> str:
        return self.phone_hash[:12]


class SmsCode(models.Model):
    """A sign-in code sent by text. Only its hash is kept."""

    phone = models.CharField(max_length=11)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["phone", "created_at"], name="smscode_phone_time")]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} {self.created_at:%Y-%m-%d %H:%M}"


class MemberToken(models.Model):
    """A mini-program session: a bearer token that expires and can be revoked (logout)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.member_id} until {self.expires_at:%Y-%m-%d}"


class MemberCode(models.Model):
    """A member code (会员码) the mini-program showed: random, spent by one checkout, alive
    for two minutes at most. Only its hash is kept."""

    code_hash = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="membercode_expires")]

    def __str__(self) -> str:
        return f"{self.member_id} until {self.expires_at:%H:%M:%S}"


class MemberOtp(models.Model):
    """A one-time code a store's till had texted to a member, which the member reads out to
    spend at that store (积分抵现 without the member code). Only its hash is kept."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["member", "store", "expires_at"], name="memberotp_live"),
            models.Index(fields=["member", "created_at"], name="memberotp_member_time"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.store_id} {self.created_at:%Y-%m-%d %H:%M}"


class Tag(TimeStampedModel):
    """标签. HQ tags (no store) are seen everywhere; a store's tags only by that store.

    A rule tag is kept equal to a segment's members by a nightly job; people tag by hand.
    """

    name = models.CharField(_("name"), max_length=30)
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tags",
        help_text=_("Empty for an HQ tag."),
    )
    segment = models.ForeignKey(
        "Segment",
        verbose_name=_("rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rule_tags",
        help_text=_("Members of this segment get the tag automatically."),
    )
    members = models.ManyToManyField(Member, through="MemberTag", related_name="tags")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "store"], name="tag_name_per_store"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(store__isnull=True), name="hq_tag_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.store.code})" if self.store_id else self.name


class MemberTag(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="member_tags")
    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="member_tags"
    )
    added_by = models.ForeignKey(
        "core.User",
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("tagged at"), default=timezone.now)

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [models.UniqueConstraint(fields=["member", "tag"], name="member_tag_once")]

    def __str__(self) -> str:
        return f"{self.member_id} #{self.tag_id}"


class Segment(TimeStampedModel):
    """分群: a saved filter over members, evaluated as one query (members.segments)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    description = models.TextField(_("description"), blank=True)
    home_stores = models.ManyToManyField(
        Store, verbose_name=_("home stores"), blank=True, related_name="+"
    )
    distributors = models.ManyToManyField(
        "distributors.Distributor",
        verbose_name=_("home store's distributors"),
        blank=True,
        related_name="+",
    )
    joined_from = models.DateField(_("joined on or after"), null=True, blank=True)
    joined_to = models.DateField(_("joined on or before"), null=True, blank=True)
    birthday_month = models.PositiveSmallIntegerField(
        _("birthday month"),
        null=True,
        blank=True,
        choices=[(month, str(month)) for month in range(1, 13)],
    )
    inactive_days = models.PositiveIntegerField(
        _("inactive for at least (days)"),
        null=True,
        blank=True,
        help_text=_("No visit, sign-in or purchase for this many days."),
    )
    tags_any = models.ManyToManyField(
        Tag, verbose_name=_("has any of the tags"), blank=True, related_name="+"
    )
    marketing_consent = models.BooleanField(
        _("agrees to marketing"), null=True, blank=True, help_text=_("Empty: either.")
    )
    extra = models.JSONField(_("more filters"), default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberImport(TimeStampedModel):
    """An upload of members from another platform: checked in a dry run, then imported."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("checking…")
        INVALID = "invalid", _("cannot be imported")
        CHECKED = "checked", _("checked, not imported yet")
        RUNNING = "running", _("importing")
        DONE = "done", _("imported")
        FAILED = "failed", _("failed")

    file_name = models.CharField(_("file"), max_length=200)
    content = models.BinaryField(editable=False)
    platform = models.CharField(_("platform"), max_length=20, choices=MemberIdentity.Kind)
    home_store = models.ForeignKey(
        Store,
        verbose_name=_("home store for new members"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.CHECKED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    preview = models.JSONField(_("dry run"), default=dict, blank=True)
    created_by = models.ForeignKey(
        "core.User",
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The uploaded file is deleted after IMPORT_FILE_RETENTION_DAYS; the report stays.
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


class MemberImportChunk(models.Model):
    """One imported slice of an upload, written with its members: a rerun skips it."""

    member_import = models.ForeignKey(MemberImport, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    created = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member_import", "index"], name="import_chunk_once")
        ]

    def __str__(self) -> str:
        return f"{self.member_import_id}#{self.index}"
