from django.contrib import admin

from customers.models import Company


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "lifecycle", "owner", "team")
    list_select_related = ("owner", "team")
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    show_full_result_count = False
