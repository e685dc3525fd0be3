"""The tickets module's configuration for administrators: categories, priorities, business
hours (with holiday calendars imported from .ics files), SLA policies and assignment rules."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tickets.holidays import parse_holiday_lines, parse_ics
from tickets.models import (
    AssignmentRule,
    BusinessHours,
    CannedResponse,
    Category,
    InboundMail,
    Mailbox,
    Priority,
    SlaPolicy,
    SlaTarget,
    Ticket,
)
from tickets.sla import WEEKDAY_NAMES

ICS_MAX_BYTES = 1024 * 1024


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "active")
    list_editable = ("order", "active")
    search_fields = ("name",)


@admin.register(Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_default", "active")
    list_editable = ("order", "is_default", "active")


def holiday_lines(holidays, workdays) -> str:
    """Dates in the holiday list's own text format, one per line, in date order."""
    entries = [(day, f"{day.isoformat()} holiday") for day in holidays]
    entries += [
        (day, f"{day.isoformat()} workday:{WEEKDAY_NAMES[weekday][:3].lower()}") for day, weekday in workdays.items()
    ]
    return "\n".join(line for _day, line in sorted(entries))


class BusinessHoursForm(forms.ModelForm):
    ics_file = forms.FileField(
        label=_("Import holidays from an .ics file"),
        required=False,
        help_text=_("A public-holiday calendar; its holidays and make-up working days are added to the list."),
    )

    class Meta:
        model = BusinessHours
        fields = ["name", "time_zone", "weekly_hours", "holidays"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("ics_file")
        if upload:
            if upload.size > ICS_MAX_BYTES:
                self.add_error("ics_file", _("The file is larger than 1 MB."))
                return cleaned
            try:
                holidays, workdays = parse_ics(upload.read().decode("utf-8-sig"))
            except UnicodeDecodeError:
                self.add_error("ics_file", _("The file is not UTF-8 text."))
                return cleaned
            except ValueError as error:
                self.add_error("ics_file", str(error))
                return cleaned
            try:
                known, known_workdays = parse_holiday_lines(cleaned.get("holidays") or "")
            except ValueError:
                return cleaned  # the holidays field reports its own error
            holidays -= known | set(known_workdays)
            workdays = {
                day: weekday for day, weekday in workdays.items() if day not in known and day not in known_workdays
            }
            added = holiday_lines(holidays, workdays)
            if added:
                cleaned["holidays"] = "\n".join(filter(None, [(cleaned.get("holidays") or "").rstrip(), added]))
                self.instance.holidays = cleaned["holidays"]
        return cleaned


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    form = BusinessHoursForm
    list_display = ("name", "time_zone")


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "customer_grade", "hours", "on_resolution_breach", "active")
    list_editable = ("order", "active")
    list_select_related = ("hours",)
    inlines = [SlaTargetInline]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "category", "channel", "customer_grade", "language", "team", "method", "active")
    list_editable = ("order", "active")
    list_select_related = ("category", "team")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Tickets to look up by number; they are worked on their own pages, where the services keep
    the status rules, the SLA clock and the customer's history."""

    list_display = ("number", "subject", "status", "priority", "owner", "team", "created_at")
    list_select_related = ("priority", "owner", "team")
    list_filter = ("status", "channel")
    search_fields = ("=number",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MailboxForm(forms.ModelForm):
    """The password is never sent back to the browser: empty keeps the stored one."""

    password = forms.CharField(
        label=_("password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted. Leave empty to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = ["name", "host", "port", "use_ssl", "username", "password", "folder", "team", "category"]
        fields += ["contact_owner", "active"]

    def clean_password(self):
        typed = self.cleaned_data.get("password") or ""
        return typed or (self.instance.password if self.instance.pk else "")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ("name", "host", "username", "folder", "team", "active", "last_checked_at", "last_error")
    list_select_related = ("team",)
    readonly_fields = ("last_checked_at", "last_error")
    raw_id_fields = ("contact_owner",)


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "mailbox", "sender", "subject", "outcome", "ticket")
    list_filter = ("outcome", "mailbox")
    list_select_related = ("mailbox", "ticket")
    readonly_fields = [f.name for f in InboundMail._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("title", "active")
    list_editable = ("active",)
    search_fields = ("title", "body")
