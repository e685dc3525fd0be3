from django.urls import path

from pipeline import lead_views, web_forms

app_name = "pipeline"

urlpatterns = []

urlpatterns += [
    path("leads/", lead_views.lead_list_view, name="lead_list"),
    path("leads/new/", lead_views.lead_create, name="lead_create"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", lead_views.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/delete/", lead_views.lead_delete, name="lead_delete"),
    path("leads/<int:pk>/contacted/", lead_views.lead_mark_contacted, name="lead_mark_contacted"),
    path("leads/<int:pk>/qualify/", lead_views.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/reassign/", lead_views.lead_reassign, name="lead_reassign"),
    path("leads/<int:pk>/reveal/<str:field>/", lead_views.lead_reveal, name="lead_reveal"),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("forms/<slug:slug>/", web_forms.web_form, name="web_form"),
]
