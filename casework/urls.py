from django.urls import path

from casework.views import cases, cases_triage, consents, evidence, findings, notices, review, takedowns

app_name = "casework"

urlpatterns = [
    path("", findings.home, name="home"),
    path("review/", findings.review_queue, name="review_queue"),
    path("findings/<int:pk>/", findings.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/media", findings.finding_media, name="finding_media"),
    path("findings/<int:pk>/confirm", findings.finding_confirm_view, name="finding_confirm"),
    path("findings/<int:pk>/reject", findings.finding_reject_view, name="finding_reject"),
    path("findings/<int:pk>/crops/probe.jpg", review.finding_probe_crop, name="finding_probe_crop"),
    path("findings/<int:pk>/crops/reference.jpg", review.finding_reference_crop, name="finding_reference_crop"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/triage", cases_triage.case_triage, name="case_triage"),
    path("cases/<int:pk>/notes", cases_triage.case_note_create, name="case_note_create"),
    path("cases/<int:pk>/status", cases_triage.case_status, name="case_status"),
    path("reports/<int:pk>/", cases_triage.report_detail, name="report_detail"),
    path("reports/<int:pk>/case", cases_triage.report_case_open, name="report_case_open"),
    path("cases/<int:pk>/minor", cases.case_minor_record_view, name="case_minor_record"),
    path("cases/<int:pk>/media", cases.case_media_upload, name="case_media_upload"),
    path("consents/<int:pk>/receipt.pdf", consents.consent_receipt, name="consent_receipt"),
    path("takedowns/<int:pk>/", takedowns.takedown_detail, name="takedown_detail"),
    path("takedowns/<int:pk>/transition", takedowns.takedown_transition_view, name="takedown_transition"),
    path("takedowns/<int:pk>/deadline-extension", takedowns.takedown_deadline_extend_view, name="takedown_deadline_extend"),
    path("takedowns/<int:pk>/notices", takedowns.notice_create, name="notice_create"),
    path("notices/<int:pk>.pdf", notices.notice_pdf, name="notice_pdf"),
    path("notices/<int:pk>/", notices.notice_detail, name="notice_detail"),
    path("notices/<int:pk>.eml", notices.notice_eml_download, name="notice_eml"),
    path("notices/<int:pk>/send", notices.notice_send_view, name="notice_send"),
    path("notices/<int:pk>/submission", notices.notice_submission_view, name="notice_submission"),
    path("cases/<int:pk>/evidence/", evidence.case_evidence, name="case_evidence"),
    path("cases/<int:pk>/evidence.zip", evidence.case_evidence_export, name="case_evidence_export"),
]
