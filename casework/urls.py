from django.urls import path

from casework import views

app_name = "casework"

urlpatterns = [
    path("", views.home, name="home"),
    path("review/", views.review_queue, name="review_queue"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/media", views.finding_media, name="finding_media"),
    path("findings/<int:pk>/confirm", views.finding_confirm_view, name="finding_confirm"),
    path("findings/<int:pk>/reject", views.finding_reject_view, name="finding_reject"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/minor", views.case_minor_record_view, name="case_minor_record"),
    path("cases/<int:pk>/media", views.case_media_upload, name="case_media_upload"),
    path("consents/<int:pk>/receipt.pdf", views.consent_receipt, name="consent_receipt"),
    path("takedowns/<int:pk>/", views.takedown_detail, name="takedown_detail"),
    path("takedowns/<int:pk>/transition", views.takedown_transition_view, name="takedown_transition"),
    path("takedowns/<int:pk>/deadline-extension", views.takedown_deadline_extend_view, name="takedown_deadline_extend"),
    path("takedowns/<int:pk>/notices", views.notice_create, name="notice_create"),
    path("notices/<int:pk>.pdf", views.notice_pdf, name="notice_pdf"),
]
