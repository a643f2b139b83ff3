import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.audit import audit_record, changed_fields, request_ip, snapshot
from apps.core.errors import DomainError
from apps.core.events import events_requeue
from apps.core.models import AuditEntry, Event, User
from apps.core.phones import InvalidPhone, mask_phone, normalize_phone
from apps.core.reference import reference_forget

# Who may see members' full phone numbers, in the console as elsewhere (apps.members).
MEMBER_PHONE_PERMISSION = "members.view_member_phone"


def phone_search_term(term: str) -> str:
    """The phone a console search asks for: four digits (the end of a number) or a full
    mobile number however typed; '' when it is not one."""
    term = term.strip()
    if term.isdigit() and len(term) == 4:
        return term
    if not term or not set(term) <= set("0123456789+- ()"):
        return ""
    try:
        return normalize_phone(term)
    except InvalidPhone:
        return ""


def phone_search_audit(request, phone: str) -> None:
    """A search for a member's number by someone who may: who, when, the number masked."""
    audit_record(
        actor=request.user,
        action="member.phone_search",
        after={"term": mask_phone(phone) if len(phone) == 11 else f"****{phone}"},
        ip=request_ip(request),
    )


# Records an exact search lists at most for each field it looks in.
EXACT_MATCHES = 1000


class ConsoleAdmin(admin.ModelAdmin):
    """What every console page shares: a page that finds records by their member's phone
    (search field `=member__phone`) does so only for those who may see phone numbers, and
    records each such search; for anyone else a number finds nothing.

    A page whose search fields are all exact (`=name`: numbers, codes, phones) looks the
    term up in each field's index on its own (`exact_matches`)."""

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if request.user.has_perm(MEMBER_PHONE_PERMISSION):
            return fields
        return [name for name in fields if not name.lstrip("=^@").endswith("member__phone")]

    def get_search_results(self, request, queryset, search_term):
        fields = self.get_search_fields(request)
        if any(name.lstrip("=^@").endswith("member__phone") for name in fields) and (
            phone := phone_search_term(search_term)
        ):
            phone_search_audit(request, phone)
        term = search_term.strip()
        if term and fields and all(name.startswith("=") for name in fields):
            names = [name.removeprefix("=") for name in fields]
            return queryset.filter(pk__in=exact_matches(queryset, names, term)), False
        return super().get_search_results(request, queryset, search_term)


def exact_matches(queryset, names: list[str], term: str) -> list:
    """The records (ids) whose field `name` is the term as typed, in capitals or in small
    letters, a phone field's the number however typed, a number field's the term if it is
    a number: one look-up a field, each answered by its index. Django's own exact search
    compares both sides upper-cased and joins the fields with OR across tables, which no
    index answers: on a table of millions every search read it all."""
    found = []
    for name in names:
        field = get_fields_from_path(queryset.model, name)[-1]
        field = field.target_field if field.is_relation else field
        if isinstance(field, models.CharField | models.TextField):
            phone = phone_search_term(term) if name.endswith("phone") else ""
            values = {phone} if len(phone) == 11 else {term, term.upper(), term.lower()}
        elif isinstance(field, models.IntegerField) and term.isdigit():
            values = {int(term)}
        else:
            continue
        matching = queryset.filter(**{f"{name}__in": values}).values_list("pk", flat=True)
        found += matching[:EXACT_MATCHES]
    return found


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("from"), required=False)
    end = forms.DateField(label=_("to"), required=False)

    def period(self):
        """The chosen days, or last month when none are chosen (or they are not dates)."""
        last_month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return data.get("start") or last_month_end.replace(day=1), data.get("end") or last_month_end


def statement_page(
    model_admin, request, *, title, template, filename, statement, to_csv, dealer_totals
):
    """A settlement statement of the days the request asks for (last month by default), as
    a console page or, with ?format=csv, as a CSV download; for those who may view the
    model of `model_admin`. `statement(start=, end=)` gives the rows the other two read."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    rows = statement(start=start, end=end)
    if request.GET.get("format") == "csv":
        response = HttpResponse(to_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}-{start}-{end}.csv"'
        return response
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "form": form,
        "rows": rows,
        "dealers": dealer_totals(rows),
        "start": start,
        "end": end,
        "query": request.GET.urlencode(),
    }
    return TemplateResponse(request, template, context)


class HuijiModelAdmin(ConsoleAdmin):
    """The base of every HQ console page: audited writes, domain errors shown as messages,
    and the cached `reference_data` of apps.core.reference forgotten on every change."""

    reference_data: tuple[str, ...] = ()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        reference_forget(*self.reference_data)

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            old, new = changed_fields(before, snapshot(obj))
            if new:
                audit_record(
                    actor=request.user,
                    action="change" if change else "create",
                    target=obj,
                    before=old or None,
                    after=new,
                    ip=request_ip(request),
                )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(
                actor=request.user,
                action="delete",
                target=obj,
                before=snapshot(obj),
                ip=request_ip(request),
            )
            super().delete_model(request, obj)
            reference_forget(*self.reference_data)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    actor=request.user,
                    action="delete",
                    target=obj,
                    before=snapshot(obj),
                    ip=request_ip(request),
                )
            super().delete_queryset(request, queryset)
            reference_forget(*self.reference_data)

    def changeform_view(self, request, *args, **kwargs):
        return self._showing_domain_errors(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._showing_domain_errors(request, super().changelist_view, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._showing_domain_errors(request, super().delete_view, *args, **kwargs)

    @staticmethod
    def _showing_domain_errors(request, view, *args, **kwargs):
        try:
            with transaction.atomic():
                return view(request, *args, **kwargs)
        except DomainError as error:
            messages.error(request, error.render())
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(ConsoleAdmin):
    """Records written only by the system (ledgers, logs): HQ reads them, nobody edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def pretty_json(value) -> str:
    if value is None:
        return "—"
    return format_html(
        '<pre style="white-space:pre-wrap;margin:0">{}</pre>',
        json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True),
    )


# Who may give whom power: only a superuser (DESIGN.md, Trust between HQ, franchise stores
# and members). These fields are neither shown to nor accepted from anyone else.
PERMISSION_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def _names(queryset) -> list[str]:
    return sorted(str(item) for item in queryset)


class ProfileForm(UserChangeForm):
    password = None


@admin.register(User)
class UserAdmin(HuijiModelAdmin, DjangoUserAdmin):
    """Accounts. HQ roles with `core.change_user` look after store and dealer people's
    accounts (name, phone, active); only a superuser changes an HQ account, grants
    permissions or groups, makes staff or superusers, or sets another user's password."""

    list_display = ["username", "display_name", "phone", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "phone", "email"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets[:1],
        (_("Personal info"), {"fields": ["last_name", "first_name", "phone", "email"]}),
        *DjangoUserAdmin.fieldsets[2:],
    ]
    fieldsets_without_permissions = [
        (None, {"fields": ["username"]}),
        (_("Personal info"), {"fields": ["last_name", "first_name", "phone", "email"]}),
        (_("Status"), {"fields": ["is_active"]}),
        *DjangoUserAdmin.fieldsets[3:],
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.fieldsets_without_permissions

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and not request.user.is_superuser:
            kwargs["form"] = ProfileForm  # without the password's link to a page they may not open
        return super().get_form(request, obj, **kwargs)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        # An HQ account (or a superuser) is changed by a superuser only.
        return request.user.is_superuser or obj is None or not (obj.is_staff or obj.is_superuser)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return request.user.is_superuser or obj is None or not (obj.is_staff or obj.is_superuser)

    def changeform_view(self, request, *args, **kwargs):
        if (
            request.method == "POST"
            and not request.user.is_superuser
            and any(name in request.POST for name in PERMISSION_FIELDS)
        ):
            raise PermissionDenied  # no form shown to them sends these: a crafted request
        return super().changeform_view(request, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            granted = set(PERMISSION_FIELDS) & set(form.cleaned_data)
            stored = (
                type(obj).objects.filter(pk=obj.pk).values("is_staff", "is_superuser").first()
                if change
                else {"is_staff": False, "is_superuser": False}
            )
            if granted or any(getattr(obj, name) != was for name, was in stored.items()):
                raise PermissionDenied
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        before = {name: _names(getattr(obj, name).all()) for name in ("groups", "user_permissions")}
        super().save_related(request, form, formsets, change)
        after = {name: _names(getattr(obj, name).all()) for name in ("groups", "user_permissions")}
        old, new = changed_fields(before, after)
        if new:
            audit_record(
                actor=request.user,
                action="user.permissions",
                target=obj,
                before=old,
                after=new,
                ip=request_ip(request),
            )

    @admin.display(description=_("name"))
    def display_name(self, obj):
        return obj.get_full_name()

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            audit_record(
                actor=request.user,
                action="password.set",
                target=self.get_object(request, id),
                ip=request_ip(request),
            )
        return response


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(HuijiModelAdmin, DjangoGroupAdmin):
    """HQ roles. Only a superuser makes, changes or deletes one: whoever may edit a group
    may give its members, themselves included, any permission. Others with
    `auth.view_group` may read them."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_related(self, request, form, formsets, change):
        before = _names(form.instance.permissions.all()) if change else []
        super().save_related(request, form, formsets, change)
        after = _names(form.instance.permissions.all())
        if before != after:
            audit_record(
                actor=request.user,
                action="group.permissions",
                target=form.instance,
                before={"permissions": before},
                after={"permissions": after},
                ip=request_ip(request),
            )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_label", "ip"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["actor_label", "target_label", "target_id", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["target_type"]
    fields = [
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "reason",
        "ip",
        "before_pretty",
        "after_pretty",
    ]
    readonly_fields = fields

    @admin.display(description=_("before"))
    def before_pretty(self, obj):
        return pretty_json(obj.before)

    @admin.display(description=_("after"))
    def after_pretty(self, obj):
        return pretty_json(obj.after)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "handled_at",
    ]
    list_filter = ["status", "name"]
    search_fields = ["name", "=id"]
    date_hierarchy = "created_at"
    fields = [
        "name",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "handled_at",
        "payload_pretty",
        "last_error",
    ]
    readonly_fields = fields
    actions = ["retry_now"]

    def has_change_permission(self, request, obj=None):
        # The change permission allows the retry action; the fields stay read-only.
        return request.user.has_perm("core.change_event") and obj is None

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)

    @admin.action(description=_("Retry the selected events now"), permissions=["change"])
    def retry_now(self, request, queryset):
        requeued = events_requeue(event_ids=list(queryset.values_list("pk", flat=True)))
        audit_record(
            actor=request.user,
            action="event.retry",
            after={"events": requeued},
            ip=request_ip(request),
        )
        self.message_user(
            request, _("%(count)d events are being retried.") % {"count": len(requeued)}
        )


class UploadImportAdmin(HuijiModelAdmin):
    """An uploaded file that a job checks first (a dry run shown on its page, which reloads
    itself while the job runs), then run as a job by HQ's "Import now", with a report to
    download. A subclass names its `upload_form` and `upload_fields` and defines the three
    steps of its own app's import service: `check_upload(request, upload, obj)` → the import
    uploaded, to be checked; `start(obj)` → the import started; `report(request, obj)` → its
    report as CSV text, for that person."""

    change_form_template = "admin/upload_import_change_form.html"
    upload_form: type = None
    upload_fields: list[str] = []
    runnable_statuses: tuple[str, ...] = ("checked", "failed")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.upload_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return self.upload_fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def has_change_permission(self, request, obj=None):
        return False  # an upload is not edited: it is run, or a new one is made

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data["upload"]
        obj.pk = self.check_upload(request, upload, obj).pk

    def _url(self, name: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{name}"

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse(f"admin:{self._url('change')}", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:pk>/run/", self.admin_site.admin_view(self.run_view), name=self._url("run")),
            path(
                "<int:pk>/report.csv",
                self.admin_site.admin_view(self.report_view),
                name=self._url("report"),
            ),
            *super().get_urls(),
        ]

    def run_view(self, request, pk):
        upload = get_object_or_404(self.model, pk=pk)
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponseForbidden()
        upload = self.start(upload)
        self.message_user(
            request, _("Import %(status)s.") % {"status": upload.get_status_display()}
        )
        return HttpResponseRedirect(reverse(f"admin:{self._url('change')}", args=[pk]))

    def report_view(self, request, pk):
        upload = get_object_or_404(self.model, pk=pk)
        if not self.has_view_permission(request, upload):
            return HttpResponseForbidden()
        response = HttpResponse(
            self.report(request, upload), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{pk}-report.csv"'
        return response

    def report_link(self, obj, summary: str):
        return format_html(
            '{} <a href="{}">{}</a>',
            summary,
            reverse(f"admin:{self._url('report')}", args=[obj.pk]),
            _("Download the report"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        upload = self.get_object(request, object_id)
        can_run = (
            upload is not None
            and upload.status in self.runnable_statuses
            and upload.file_deleted_at is None
        )
        extra_context = {
            **(extra_context or {}),
            "checking": upload is not None and upload.status == "checking",
            "can_run": can_run and self.has_add_permission(request),
            "run_url": reverse(f"admin:{self._url('run')}", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)
