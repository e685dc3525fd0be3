from importlib import import_module

from auditlog.admin import LogEntryAdmin as BaseLogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import CrontabScheduleAdmin as BaseCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm import signin
from crm.mfa import reset_second_factor_action
from crm.models import PendingTask, RoleSecurity, Team, TeamMembership, User, UserSession
from crm.roles import role_label

admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM administration")
admin.site.index_title = _("Settings")


class AdminSignInForm(AdminAuthenticationForm):
    """The admin site's own sign-in form keeps the same network rules as the CRM's (crm/signin.py)."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        signin.check_sign_in_allowed(user, self.request)


admin.site.login_form = AdminSignInForm

# django-otp's own device admin would let an administrator show anyone's authenticator key as a
# QR code; Users -> "Reset second factor" (crm/mfa.py) is what administrators need instead. Its
# admin module is imported here first, so that admin autodiscovery does not register it again.
import_module("django_otp.plugins.otp_totp.admin")
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


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
    actions = [reset_second_factor_action]

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


class RoleSecurityForm(forms.ModelForm):
    class Meta:
        model = RoleSecurity
        fields = ("require_mfa", "networks")
        widgets = {"networks": forms.Textarea(attrs={"rows": 3, "placeholder": "10.20.0.0/16"})}

    def clean_networks(self):
        networks = self.cleaned_data["networks"]
        signin.parse_networks(networks)  # refuses what is no address or range, naming it
        return networks


class RoleSecurityInline(admin.StackedInline):
    """How the role's members sign in: a second factor, and the networks they may use."""

    model = RoleSecurity
    form = RoleSecurityForm
    can_delete = False
    verbose_name_plural = _("Sign-in rules")


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Roles and team groups; a role's stored name is an English key, shown in the user's language."""

    list_display = ("role_name", "second_factor", "networks")
    inlines = [RoleSecurityInline]

    @admin.display(description=_("second factor required"), boolean=True)
    def second_factor(self, group):
        return bool(getattr(getattr(group, "security", None), "require_mfa", False))

    @admin.display(description=_("allowed networks"))
    def networks(self, group):
        rule = getattr(group, "security", None)
        return ", ".join(line.strip() for line in rule.networks.splitlines() if line.strip()) if rule else ""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("security")

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


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """Where everyone is signed in; signing a session out ends it at its next request."""

    list_display = ("user", "browser", "ip_address", "created_at", "last_seen")
    list_filter = ("created_at",)
    search_fields = ("user__username", "ip_address")
    list_select_related = ("user",)
    actions = ["sign_out"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting the record alone would leave the session signed in: use the action

    @admin.display(description=_("browser"))
    def browser(self, record):
        return signin.browser_name(record.user_agent)

    @admin.action(description=_("Sign out the selected sessions"))
    def sign_out(self, request, queryset):
        count = 0
        for record in queryset.select_related("user"):
            count += signin.end_sessions(record.user, actor=request.user, only=record.session_key, reason="admin")
        self.message_user(request, _("%(count)d sessions signed out.") % {"count": count})


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """Background work queued while the broker was away, until beat hands it over (crm.outbox).
    Read-only: its arguments are record ids, and a task deleted here would never run."""

    list_display = ("task", "created_at")
    list_filter = ("task",)
    date_hierarchy = "created_at"
    readonly_fields = ("task", "args", "kwargs", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
