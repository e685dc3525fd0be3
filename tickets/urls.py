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
    path("tickets/<int:pk>/watch/", views.ticket_watch, name="ticket_watch"),
    path("tickets/<int:pk>/unwatch/", views.ticket_unwatch, name="ticket_unwatch"),
    path("tickets/<int:pk>/watchers/add/", views.watcher_add, name="watcher_add"),
    path("tickets/<int:pk>/watchers/remove/", views.watcher_remove, name="watcher_remove"),
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
