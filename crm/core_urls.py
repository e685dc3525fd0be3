from django.urls import path

from crm import picker_views, views

app_name = "crm"

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("views/save/", views.saved_view_create, name="saved_view_create"),
    path("views/<int:pk>/delete/", views.saved_view_remove, name="saved_view_remove"),
    path("share/<str:model>/<int:pk>/", views.share_dialog, name="share"),
    path("share/<str:model>/<int:pk>/add/", views.share_add, name="share_add"),
    path("share/<str:model>/<int:pk>/remove/", views.share_remove, name="share_remove"),
    path("pick/<str:source>/", picker_views.pick, name="pick"),
]
