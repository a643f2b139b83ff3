import functools

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseForbidden, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.admin import (
    MEMBER_PHONE_PERMISSION,
    HuijiModelAdmin,
    UploadImportAdmin,
    phone_search_audit,
    phone_search_term,
)
from apps.core.audit import request_ip
from apps.core.spreadsheets import SpreadsheetUploadField
from apps.members.exports import members_csv_response
from apps.members.imports import (
    member_import_report,
    member_import_start,
    member_import_summary,
    member_import_upload,
)
from apps.members.models import (
    Member,
    MemberIdentity,
    MemberImport,
    MemberTag,
    Segment,
    StoreVisit,
    Tag,
)
from apps.members.segments import (
    SegmentCriteria,
    rule_tag_refresh,
    segment_filters,
    segment_members,
)
from apps.members.services import member_delete, member_merge, member_tag_add

PHONE_PERMISSION = MEMBER_PHONE_PERMISSION


class MemberIdentityInline(admin.TabularInline):
    model = MemberIdentity
    fields = ["kind", "value", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class StoreVisitInline(admin.TabularInline):
    model = StoreVisit
    fields = ["created_at", "store", "guide"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store", "guide__user")


class MemberTagInline(admin.TabularInline):
    model = MemberTag
    fields = ["tag", "added_by", "created_at"]
    readonly_fields = ["added_by", "created_at"]
    autocomplete_fields = ["tag"]
    extra = 0


class TagChoiceForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("tag"), queryset=Tag.objects.filter(segment__isnull=True))


class CloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Erase these members' personal data now. This cannot be undone.")
    )


class MergeForm(forms.Form):
    survivor = forms.ModelChoiceField(
        label=_("keep this member"), queryset=Member.objects.none(), widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("reason"), max_length=200)


@admin.register(Member)
class MemberAdmin(HuijiModelAdmin):
    list_display = [
        "id",
        "phone_masked",
        "name",
        "home_store",
        "status",
        "joined_at",
        "last_active_at",
    ]
    list_filter = [
        "status",
        "marketing_consent",
        "gender",
        "source",
        "home_store__distributor",
        "home_store",
    ]
    list_select_related = ["home_store"]
    search_fields = ["name", "referral_code"]
    search_help_text = _(
        "Full mobile number, its last four digits, name, referral code or a channel id"
    )
    autocomplete_fields = ["home_store", "guide", "referrer"]
    date_hierarchy = "joined_at"
    inlines = [MemberIdentityInline, MemberTagInline, StoreVisitInline]
    actions = ["tag_members", "export_csv", "merge_two", "close_accounts"]
    fieldsets = [
        (None, {"fields": ["phone_masked", "name", "gender", "birthday", "status"]}),
        (
            _("Where they came from"),
            {"fields": ["home_store", "guide", "referrer", "source", "joined_at"]},
        ),
        (
            _("Consent and activity"),
            {
                "fields": [
                    "marketing_consent",
                    "consent_at",
                    "consent_channel",
                    "last_active_at",
                    "referral_code",
                ]
            },
        ),
    ]

    # Phone numbers are masked unless the HQ user has the permission to see them; those
    # who have it see and edit the number itself.

    def get_list_display(self, request):
        if not request.user.has_perm(PHONE_PERMISSION):
            return self.list_display
        return ["phone_full" if f == "phone_masked" else f for f in self.list_display]

    def get_fieldsets(self, request, obj=None):
        if not request.user.has_perm(PHONE_PERMISSION):
            return self.fieldsets
        return [
            (
                title,
                {
                    **options,
                    "fields": ["phone" if f == "phone_masked" else f for f in options["fields"]],
                },
            )
            for title, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["phone_masked"]
        if obj is not None:
            readonly += ["source", "joined_at", "last_active_at", "referral_code", "consent_at"]
        return readonly

    @admin.display(description=_("mobile"), ordering="phone")
    def phone_full(self, obj):
        return obj.phone or "—"

    @admin.display(description=_("mobile"))  # sorting by the number would hint at it
    def phone_masked(self, obj):
        return obj.phone_masked or "—"

    def lookup_allowed(self, lookup, value, request=None):
        # A filter in the address (?phone__startswith=138) would find a number digit by
        # digit: phones are found only by the search above, which checks and audits.
        return not lookup.startswith("phone") and super().lookup_allowed(lookup, value, request)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if not request.user.has_perm(PHONE_PERMISSION):
            changelist.search_help_text = _("Name, referral code or a channel id")
        return changelist

    def get_search_results(self, request, queryset, search_term):
        """Those who may see phones find a member by the full number or its last four
        digits, and each such search is audited (the term masked). For anyone else a
        number matches no phone, wholly or in part: the search cannot tell them one."""
        term = search_term.strip()
        if request.user.has_perm(PHONE_PERMISSION) and (phone := phone_search_term(term)):
            phone_search_audit(request, phone)
            if len(phone) == 4:
                return queryset.filter(phone__endswith=phone), False
            return queryset.filter(phone=phone), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term:
            results = results | queryset.filter(Q(identities__value=term))
            may_have_duplicates = True
        return results, may_have_duplicates

    def _action_page(self, request, queryset, *, form, action, title, explanation):
        return TemplateResponse(
            request,
            "admin/members/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "explanation": explanation,
                "form": form,
                "members": queryset,
                "action": action,
            },
        )

    @admin.action(description=_("Tag the selected members"), permissions=["change"])
    def tag_members(self, request, queryset):
        form = TagChoiceForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_page(
                request,
                queryset,
                form=form,
                action="tag_members",
                title=_("Tag the selected members"),
                explanation=_("Choose the tag to give them."),
            )
        count = member_tag_add(
            tag=form.cleaned_data["tag"], members=list(queryset), actor=request.user
        )
        self.message_user(request, _("%(count)d members tagged.") % {"count": count})
        return None

    @admin.action(description=_("Export the selected members as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        return members_csv_response(
            queryset, full_phones=request.user.has_perm(PHONE_PERMISSION), name="members"
        )

    # A member is never deleted outright (orders and ledgers point at them): their account is
    # closed as they would close it themselves, by `member_delete`.
    def has_delete_permission(self, request, obj=None):
        return False

    def has_close_permission(self, request):
        return request.user.has_perm("members.delete_member")

    @admin.action(
        description=_("Close the selected members' accounts (erase personal data)"),
        permissions=["close"],
    )
    def close_accounts(self, request, queryset):
        form = CloseForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_page(
                request,
                queryset,
                form=form,
                action="close_accounts",
                title=_("Close the selected members' accounts"),
                explanation=_(
                    "Phone, name, gender, birthday, channel ids and sign-in codes are erased, "
                    "and they disappear from import reports and the audit log; orders and "
                    "ledgers keep the closed member's number."
                ),
            )
        for member in queryset.order_by("pk"):
            member_delete(member=member, actor=request.user)
        self.message_user(request, _("%(count)d accounts closed.") % {"count": queryset.count()})
        return None

    @admin.action(description=_("Merge two members who are one person"), permissions=["change"])
    def merge_two(self, request, queryset):
        if queryset.count() != 2:
            self.message_user(request, _("Select exactly two members to merge."), messages.ERROR)
            return None
        form = MergeForm(request.POST if "apply" in request.POST else None)
        form.fields["survivor"].queryset = queryset
        if not form.is_valid():
            return self._action_page(
                request,
                queryset,
                form=form,
                action="merge_two",
                title=_("Merge two members"),
                explanation=_(
                    "The member you keep receives the other's channel ids, visits, tags, points, "
                    "coupons, orders, customers and promoter record with its commissions, "
                    "balances, debt and withdrawals in flight; the other is closed as merged. "
                    "This cannot be undone."
                ),
            )
        survivor = form.cleaned_data["survivor"]
        merged = queryset.exclude(pk=survivor.pk).get()
        member_merge(
            survivor=survivor,
            merged=merged,
            actor=request.user,
            reason=f"{form.cleaned_data['reason']} ({request_ip(request)})",
        )
        self.message_user(request, _("Merged into member #%(id)d.") % {"id": survivor.pk})
        return None


@admin.register(Tag)
class TagAdmin(HuijiModelAdmin):
    list_display = ["name", "store", "segment", "member_count"]
    list_filter = [("store", admin.EmptyFieldListFilter), "store"]
    search_fields = ["name"]
    autocomplete_fields = ["store", "segment"]
    actions = ["refresh_rule_tags"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("store", "segment")
            .annotate(member_count=Count("member_tags"))
        )

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    @admin.action(description=_("Recompute the selected rule tags now"), permissions=["change"])
    def refresh_rule_tags(self, request, queryset):
        for tag in queryset.filter(segment__isnull=False):
            added, removed = rule_tag_refresh(tag=tag)
            self.message_user(
                request,
                _("%(tag)s: %(added)d added, %(removed)d removed.")
                % {
                    "tag": tag.name,
                    "added": added,
                    "removed": removed,
                },
            )


class SegmentForm(forms.ModelForm):
    """The segment's own filters, and those other apps registered (kept in `extra`)."""

    class Meta:
        model = Segment
        fields = [
            "name",
            "description",
            "home_stores",
            "distributors",
            "joined_from",
            "joined_to",
            "birthday_month",
            "inactive_days",
            "tags_any",
            "marketing_consent",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for extra in segment_filters():
            if extra.name in self.instance.extra and extra.name in self.fields:
                self.initial[extra.name] = extra.initial(self.instance.extra[extra.name])

    def clean(self):
        data = super().clean()
        self.instance.extra = _extra_from_form(data)
        return data


@functools.cache
def segment_form() -> type[SegmentForm]:
    """The segment form with the filters other apps registered (known once apps are ready)."""
    fields = {extra.name: extra.form_field() for extra in segment_filters()}
    return type("SegmentForm", (SegmentForm,), fields)


def _extra_from_form(data: dict) -> dict:
    return {
        extra.name: extra.to_json(data[extra.name])
        for extra in segment_filters()
        if data.get(extra.name)
    }


@admin.register(Segment)
class SegmentAdmin(HuijiModelAdmin):
    list_display = ["name", "description", "updated_at"]
    search_fields = ["name", "description"]
    filter_horizontal = ["home_stores", "distributors", "tags_any"]
    actions = ["export_members"]
    change_form_template = "admin/members/segment/change_form.html"

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, **{"form": segment_form(), **kwargs})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["preview_count"] = segment_members(SegmentCriteria.of(obj)).count()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="members_segment_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request):
        """How many members match the filters as they stand in the form, before saving."""
        if not self.has_view_permission(request):
            return HttpResponseForbidden()
        form = self.get_form(request)(request.GET)
        form.is_valid()  # the name may be missing yet: count with the filters that are valid
        filters = {k: v for k, v in form.errors.items() if k not in ("name", "__all__")}
        if filters:
            return JsonResponse({"errors": filters}, status=400)
        count = segment_members(_criteria_from_form(form.cleaned_data)).count()
        text = ngettext(
            "%(counter)s member matches now.", "%(counter)s members match now.", count
        ) % {"counter": count}
        return JsonResponse({"count": count, "text": text})

    @admin.action(
        description=_("Export the members of the selected segment as CSV"), permissions=["view"]
    )
    def export_members(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select one segment to export."), messages.ERROR)
            return None
        segment = queryset.get()
        return members_csv_response(
            segment_members(SegmentCriteria.of(segment)),
            full_phones=request.user.has_perm(PHONE_PERMISSION),
            name=f"segment-{segment.pk}",
        )


def _criteria_from_form(data: dict) -> SegmentCriteria:
    def ids(name):
        return frozenset(item.pk for item in data.get(name) or [])

    return SegmentCriteria(
        home_store_ids=ids("home_stores"),
        distributor_ids=ids("distributors"),
        joined_from=data.get("joined_from"),
        joined_to=data.get("joined_to"),
        birthday_month=data.get("birthday_month"),
        inactive_days=data.get("inactive_days"),
        tag_ids=ids("tags_any"),
        marketing_consent=data.get("marketing_consent"),
        extra=_extra_from_form(data),
    )


class MemberImportForm(forms.ModelForm):
    upload = SpreadsheetUploadField(
        label=_("file"),
        help_text=_("CSV (UTF-8 or GBK) or Excel .xlsx; a column 手机号 is required."),
    )

    class Meta:
        model = MemberImport
        fields = ["platform", "home_store"]


@admin.register(MemberImport)
class MemberImportAdmin(UploadImportAdmin):
    upload_form = MemberImportForm
    upload_fields = ["upload", "platform", "home_store"]
    list_display = [
        "file_name",
        "platform",
        "status",
        "total_rows",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "platform"]
    search_fields = ["file_name"]
    autocomplete_fields = ["home_store"]
    readonly_fields = [
        "file_name",
        "platform",
        "home_store",
        "status",
        "total_rows",
        "dry_run",
        "result",
        "error",
    ]

    def check_upload(self, request, upload, obj):
        return member_import_upload(
            file_name=upload.name,
            content=upload.read(),
            platform=obj.platform,
            home_store=obj.home_store,
            actor=request.user,
        )

    def start(self, obj):
        return member_import_start(member_import=obj)

    def report(self, request, obj) -> str:
        return member_import_report(obj, full_phones=request.user.has_perm(PHONE_PERMISSION))

    @admin.display(description=_("dry run"))
    def dry_run(self, obj):
        if obj.status in (MemberImport.Status.CHECKING, MemberImport.Status.INVALID):
            return obj.get_status_display()
        preview = obj.preview or {}
        rejected = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((row["row"], row["phone"], row["reason"]) for row in preview.get("rejected_rows", [])),
        )
        return format_html(
            "<p>{}</p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("%(created)d new, %(merged)d merged into existing members, %(rejected)d rejected.")
            % {key: preview.get(key, 0) for key in ("created", "merged", "rejected")},
            _("row"),
            _("mobile"),
            _("reason"),
            rejected,
        )

    @admin.display(description=_("result"))
    def result(self, obj):
        if not obj.chunks.exists():
            return "—"
        summary = member_import_summary(obj)
        return self.report_link(
            obj, _("%(created)d created, %(merged)d merged, %(rejected)d rejected.") % summary
        )
