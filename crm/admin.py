from auditlog.admin import LogEntryAdmin as BaseLogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import CrontabScheduleAdmin as BaseCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule

from crm.models import Team, TeamMembership, User
from crm.roles import role_label

admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM administration")
admin.site.index_title = _("Settings")


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


class RoleFilter(admin.RelatedFieldListFilter):
    """The groups filter, with role names in the user's language."""

    def field_choices(self, field, request, model_admin):
        return [(pk, role_label(name)) for pk, name in super().field_choices(field, request, model_admin)]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + ((_("Preferences"), {"fields": ("language",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", ("groups", RoleFilter))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups":
            field.label_from_instance = lambda group: role_label(group.name)
        return field


admin.site.unregister(Group)
admin.site.unregister(LogEntry)
admin.site.unregister(CrontabSchedule)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(BaseCrontabScheduleAdmin):
    """django-celery-beat's screen, with a translated header for the schedule in words."""

    list_display = ("__str__", "in_words")

    @admin.display(description=_("In words"))
    def in_words(self, schedule):
        return schedule.human_readable


@admin.register(LogEntry)
class LogEntryAdmin(BaseLogEntryAdmin):
    """django-auditlog's screen, with the column header it leaves untranslated."""

    @admin.display(description=_("Correlation ID"))
    def cid_url(self, obj):
        return super().cid_url(obj)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Roles and team groups; a role's stored name is an English key, shown in the user's language."""

    list_display = ("role_name",)

    @admin.display(description=_("Name"), ordering="name")
    def role_name(self, group):
        return role_label(group.name)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        # A team's auth group is created with it, so records can be shared with the team.
        if not change:
            from crm.services import team_create

            created = team_create(name=obj.name, description=obj.description, actor=request.user)
            obj.pk, obj.group_id, obj.created_at = created.pk, created.group_id, created.created_at
        else:
            super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        from crm.services import team_remove_member, team_set_member

        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            team_remove_member(team=membership.team, user=membership.user, actor=request.user)
        for membership in memberships:
            team_set_member(team=form.instance, user=membership.user, role=membership.role, actor=request.user)
