from django.urls import path

from customers import import_export_urls, merge_views, views

app_name = "customers"

urlpatterns = [
    *views.COMPANY_SCREENS.urls(),
    path("companies/<int:pk>/interactions/", views.company_interaction_add, name="company_interaction_add"),
    path("companies/<int:pk>/transactions/", views.company_transaction_add, name="company_transaction_add"),
    *views.CONTACT_SCREENS.urls(),
    path("contacts/<int:pk>/interactions/", views.contact_interaction_add, name="contact_interaction_add"),
    *import_export_urls.urlpatterns,
    path("duplicates/", merge_views.duplicates, name="duplicates"),
    path("companies/<int:pk>/merge/", merge_views.company_merge_view, name="company_merge"),
    path("contacts/<int:pk>/merge/", merge_views.contact_merge_view, name="contact_merge"),
    path("merges/<int:pk>/", merge_views.merge_record, name="merge_record"),
]
