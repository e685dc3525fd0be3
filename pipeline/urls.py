from django.urls import path

from pipeline import lead_views, opportunity_views, web_forms

app_name = "pipeline"

urlpatterns = []

urlpatterns += [
    *lead_views.LEAD_SCREENS.urls(),
    path("leads/<int:pk>/contacted/", lead_views.lead_mark_contacted, name="lead_mark_contacted"),
    path("leads/<int:pk>/qualify/", lead_views.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/reassign/", lead_views.lead_reassign, name="lead_reassign"),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("forms/<slug:slug>/", web_forms.web_form, name="web_form"),
]

urlpatterns += [
    path("opportunities/attention/", opportunity_views.attention, name="attention"),
    *opportunity_views.OPPORTUNITY_SCREENS.urls(),
    path("opportunities/<int:pk>/move/", opportunity_views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/win/", opportunity_views.opportunity_close, {"won": True}, name="opportunity_win"),
    path("opportunities/<int:pk>/lose/", opportunity_views.opportunity_close, {"won": False}, name="opportunity_lose"),
    path("board/", opportunity_views.board_default, name="board_default"),
    path("board/<int:pipeline_id>/", opportunity_views.board, name="board"),
    path("board/<int:pipeline_id>/stages/<int:stage_id>/more/", opportunity_views.board_more, name="board_more"),
]

from pipeline import calendar as calendar_views  # noqa: E402
from pipeline import forecast_views, task_views  # noqa: E402

urlpatterns += [
    path("tasks/", task_views.my_tasks_view, name="my_tasks"),
    path("tasks/quick-add/", task_views.task_quick_add, name="task_quick_add"),
    *task_views.TASK_SCREENS.urls(),
    path("tasks/<int:pk>/complete/", task_views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/cancel/", task_views.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/reopen/", task_views.task_reopen, name="task_reopen"),
    path("calendar/", calendar_views.calendar_month, name="calendar"),
    path("calendar/week/", calendar_views.calendar_week, name="calendar_week"),
    path("calendar/feed/", calendar_views.calendar_feed_page, name="calendar_feed"),
    path("calendar/feed/new/", calendar_views.calendar_feed_new, name="calendar_feed_new"),
    path("calendar/feed/off/", calendar_views.calendar_feed_off, name="calendar_feed_off"),
    path("calendar/<str:token>.ics", calendar_views.calendar_ics, name="calendar_ics"),
    path("forecast/", forecast_views.forecast_view, name="forecast"),
    path("quotas/", forecast_views.quota_view, name="quotas"),
]
