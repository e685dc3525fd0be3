from django.urls import path

from customers import import_export_urls, merge_views, views

app_name = "customers"

urlpatterns = [
    path("companies/", views.company_list_view, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/delete/", views.company_delete, name="company_delete"),
    path("companies/<int:pk>/interactions/", views.company_interaction_add, name="company_interaction_add"),
    path("companies/<int:pk>/transactions/", views.company_transaction_add, name="company_transaction_add"),
    path("companies/<int:pk>/reveal/<str:field>/", views.company_reveal, name="company_reveal"),
    path("contacts/", views.contact_list_view, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:pk>/interactions/", views.contact_interaction_add, name="contact_interaction_add"),
    path("contacts/<int:pk>/reveal/<str:field>/", views.contact_reveal, name="contact_reveal"),
]
urlpatterns += import_export_urls.urlpatterns
urlpatterns += [
    path("duplicates/", merge_views.duplicates, name="duplicates"),
    path("companies/<int:pk>/merge/", merge_views.company_merge_view, name="company_merge"),
    path("contacts/<int:pk>/merge/", merge_views.contact_merge_view, name="contact_merge"),
    path("merges/<int:pk>/", merge_views.merge_record, name="merge_record"),
]
