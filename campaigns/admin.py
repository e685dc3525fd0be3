from django.contrib import admin

from campaigns.models import Suppression


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses no campaign may mail: shown by reason and date (the address itself is kept only
    as its blind index). Deleting a row lets campaigns mail the address again."""

    list_display = ("__str__", "reason", "campaign", "created_at")
    list_filter = ("reason",)
    readonly_fields = ("email_key", "reason", "campaign", "detail", "created_at")

    def has_add_permission(self, request):
        return False
