from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    *views.TICKET_SCREENS.urls(),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/take/", views.ticket_take, name="ticket_take"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/merge/", views.ticket_merge, name="ticket_merge"),
    path("messages/<int:pk>/split/", views.message_split, name="message_split"),
    path("shift/", views.shift, name="shift"),
]

from tickets import customer_views  # noqa: E402

urlpatterns += [
    path("request/", customer_views.request_form, name="request"),
    path("status/<str:token>/", customer_views.status, name="status"),
    path("feedback/<str:token>/", customer_views.feedback, name="feedback"),
    path("attachments/<int:pk>/<slug:token>/", customer_views.attachment_download, name="attachment"),
]
