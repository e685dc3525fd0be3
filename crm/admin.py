from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from crm.models import Team, TeamMembership, User

admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM administration")
admin.site.index_title = _("Settings")


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + ((_("Preferences"), {"fields": ("language",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "groups")


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
