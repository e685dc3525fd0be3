from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from customers.grading_forms import GradeLevelForm, GradingPolicyForm
from customers.models import Company, Contact, GradeLevel, GradingPolicy, MergeRecord, Tag


class GradeFilter(admin.AllValuesFieldListFilter):
    """The grades in use, with a name for the companies not graded yet."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == "":
                choice["display"] = _("Not graded")
            yield choice


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "lifecycle", "grade", "owner", "team")
    list_select_related = ("owner", "team")
    list_filter = ("lifecycle", ("grade", GradeFilter))
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("display_name", "company", "email", "owner", "team")
    list_select_related = ("company", "owner", "team")
    search_fields = ("display_name", "email")
    raw_id_fields = ("owner", "company")
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "colour")
    search_fields = ("name",)


@admin.action(description=_("Recompute grades now"), permissions=["change"])
def recompute_grades(modeladmin, request, queryset):
    """Queue the same task the nightly schedule runs, once the configuration change is saved."""
    from customers.tasks import grade_all_companies

    transaction.on_commit(grade_all_companies.delay)
    modeladmin.message_user(request, _("Grades are being recomputed in the background."))


@admin.register(GradeLevel)
class GradeLevelAdmin(admin.ModelAdmin):
    form = GradeLevelForm
    list_display = ("code", "label", "tier", "min_score")
    actions = [recompute_grades]


@admin.register(GradingPolicy)
class GradingPolicyAdmin(admin.ModelAdmin):
    form = GradingPolicyForm
    list_display = ("__str__", "window_days", "recency_days", "frequency_counts", "monetary_amounts", "updated_at")
    actions = [recompute_grades]

    def has_add_permission(self, request):
        return not GradingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = ("model", "survivor_id", "merged_id", "actor", "created_at")
    readonly_fields = [f.name for f in MergeRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
