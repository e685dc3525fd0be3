from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from pipeline.models import (
    AssignmentRule,
    CalendarFeed,
    Lead,
    LeadSource,
    LostReason,
    Pipeline,
    Quota,
    ReminderDelivery,
    ScoringRule,
    Stage,
    Task,
    WebForm,
)

# --- Leads: sources, scoring, assignment, web forms ---------------------------------------------


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "active", "order")
    list_editable = ("active", "order")
    prepopulated_fields = {"code": ("name",)}


@admin.action(description=_("Recompute every lead's score"), permissions=["change"])
def rescore_all(modeladmin, request, queryset):
    """Queue the same recompute the rules need after a change; runs in the background."""
    from pipeline.lead_tasks import rescore_all_leads

    transaction.on_commit(rescore_all_leads.delay)
    modeladmin.message_user(request, _("Lead scores are being recomputed in the background."))


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "field", "value", "event", "points", "active")
    list_filter = ("kind", "active")
    actions = [rescore_all]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "source", "region", "industry", "team", "method", "active")
    list_editable = ("order", "active")
    list_select_related = ("source", "team")


class WebFormAdminForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        label=_("Fields"), choices=WebForm.FIELD_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required fields"), choices=WebForm.FIELD_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebForm
        fields = ["name", "slug", "fields", "required_fields", "team", "source", "title", "thank_you_text", "active"]

    def clean(self):
        cleaned = super().clean()
        missing = set(cleaned.get("required_fields") or []) - set(cleaned.get("fields") or [])
        if missing:
            raise forms.ValidationError(_("A required field must also be one of the form's fields."))
        if "email_opt_in" in (cleaned.get("required_fields") or []):
            raise forms.ValidationError(_("Consent to marketing e-mail cannot be required: it must be given freely."))
        return cleaned


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    form = WebFormAdminForm
    list_display = ("name", "slug", "team", "source", "active")
    prepopulated_fields = {"slug": ("name",)}


@admin.action(description=_("Recompute the scores of the selected leads"), permissions=["change"])
def rescore_selected(modeladmin, request, queryset):
    from pipeline.leads import leads_rescore

    changed = leads_rescore(queryset=queryset)
    modeladmin.message_user(request, _("%(n)d scores changed.") % {"n": changed})


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("display_name", "company_name", "status", "score", "source", "owner", "team")
    list_select_related = ("source", "owner", "team")
    list_filter = ("status", "source")
    search_fields = ("display_name", "email")
    raw_id_fields = ("owner", "converted_company", "converted_contact", "converted_opportunity")
    readonly_fields = ("score",)
    show_full_result_count = False
    actions = [rescore_selected]


# --- Opportunities: pipelines with their stages, lost reasons ------------------------------------


class StageInline(admin.TabularInline):
    model = Stage
    extra = 1
    fields = ("order", "name", "kind", "probability", "stale_after_days")
    ordering = ("order", "pk")


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_default", "active")
    list_editable = ("order", "active")
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    list_editable = ("active",)


# --- Tasks, quotas, reminders, calendar feeds -----------------------------------------------------


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "status", "due_at", "owner", "team")
    list_select_related = ("owner", "team")
    list_filter = ("kind", "status")
    raw_id_fields = ("owner", "company", "contact", "lead", "opportunity")
    readonly_fields = ("completed_at",)
    date_hierarchy = "due_at"
    show_full_result_count = False


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    """Administrators set anyone's monthly quota here; managers use the quota page."""

    list_display = ("user", "month", "amount", "currency")
    list_select_related = ("user",)
    list_filter = ("month",)
    raw_id_fields = ("user",)
    date_hierarchy = "month"

    def save_model(self, request, obj, form, change):
        obj.month = obj.month.replace(day=1)  # a quota is for a whole month
        super().save_model(request, obj, form, change)


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    """Which reminders went out; deleting a row lets that reminder be sent again."""

    list_display = ("reminder", "recipient", "sent")
    list_select_related = ("user",)
    readonly_fields = ("key", "user", "sent_at")
    show_full_result_count = False

    @admin.display(description=_("Reminder"), ordering="key")
    def reminder(self, delivery):
        return delivery.key

    @admin.display(description=_("Recipient"), ordering="user")
    def recipient(self, delivery):
        return delivery.user

    @admin.display(description=_("Sent"), ordering="sent_at")
    def sent(self, delivery):
        return delivery.sent_at

    def has_add_permission(self, request):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Deleting a feed revokes its address; the secret itself is never shown."""

    list_display = ("feed_user", "created")
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at")
    exclude = ("token_hash",)

    @admin.display(description=_("User"), ordering="user")
    def feed_user(self, feed):
        return feed.user

    @admin.display(description=_("Created"), ordering="created_at")
    def created(self, feed):
        return feed.created_at

    def has_add_permission(self, request):
        return False
