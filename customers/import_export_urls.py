"""Routes of the import and export pages, added to the `customers` namespace by customers/urls.py."""

from django.urls import path

from customers import export_views, import_views

urlpatterns = [
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/upload/", import_views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/reread/", import_views.import_reread, name="import_reread"),
    path("imports/<int:pk>/check/", import_views.import_check, name="import_check"),
    path("imports/<int:pk>/start/", import_views.import_start, name="import_start"),
    path("imports/<int:pk>/resume/", import_views.import_resume, name="import_resume"),
    path("imports/<int:pk>/revert/", import_views.import_revert, name="import_revert"),
    path("imports/<int:pk>/errors.csv", import_views.import_errors, name="import_errors"),
    path("<str:what>/export/", export_views.export_page, name="export_page"),
    path("<str:what>/export/download/", export_views.export_download, name="export_download"),
    path("exports/<int:pk>/", export_views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", export_views.export_file, name="export_file"),
]
