from django.urls import path

from campaigns import public_views

app_name = "campaigns"

urlpatterns = [
    # Reached from the messages, without signing in (campaigns/public_views.py).
    path("r/o/<str:token>/", public_views.track_open, name="track_open"),
    path("r/c/<str:token>/", public_views.track_click, name="track_click"),
    path("r/u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("bounces/", public_views.bounce_webhook, name="bounce_webhook"),
    path("sms/status/", public_views.sms_status, name="sms_status"),
    path("sms/replies/", public_views.sms_replies, name="sms_replies"),
]

from campaigns import views  # noqa: E402

urlpatterns += [
    *views.CAMPAIGN_SCREENS.urls(),
    *views.SEGMENT_SCREENS.urls(),
    path("campaigns/<int:pk>/preview/", views.campaign_preview, name="campaign_preview"),
    path("campaigns/<int:pk>/test/", views.campaign_test_send, name="campaign_test_send"),
    *(
        path(f"campaigns/<int:pk>/{action}/", views.campaign_action, {"action": action}, name=f"campaign_{action}")
        for action in views.ACTIONS
    ),
    path("segments/estimate/", views.segment_estimate, name="segment_estimate"),
    path("segments/conditions/", views.segment_conditions, name="segment_conditions"),
    path("segments/<int:pk>/members/", views.segment_add_member, name="segment_add_member"),
    path(
        "segments/<int:pk>/members/<int:contact_pk>/remove/", views.segment_remove_member, name="segment_remove_member"
    ),
]
