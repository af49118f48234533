"""Every page of the thin path refuses anonymous users and hides other organisations' data."""

from django.urls import reverse

from casework.models import Case, CaseNote, Notice, TakedownRequest
from detection.models import FindingSuppression
from tests.casework.test_thin_path import NOTICE
from tests.detection.test_scan import scan


def pages(objects):
    """(method, url) for every page of the path that shows or changes one object."""
    f, c, t, n, k = (objects[key].pk for key in ("finding", "case", "takedown", "notice", "consent"))
    return [
        ("get", reverse("casework:finding_detail", args=[f])),
        ("get", reverse("casework:finding_media", args=[f])),
        ("post", reverse("casework:finding_confirm", args=[f])),
        ("post", reverse("casework:finding_reject", args=[f])),
        ("get", reverse("casework:case_detail", args=[c])),
        ("post", reverse("casework:case_minor_record", args=[c])),
        ("post", reverse("casework:case_media_upload", args=[c])),
        ("get", reverse("casework:consent_receipt", args=[k])),
        ("get", reverse("casework:takedown_detail", args=[t])),
        ("post", reverse("casework:takedown_transition", args=[t])),
        ("post", reverse("casework:takedown_deadline_extend", args=[t])),
        ("post", reverse("casework:notice_create", args=[t])),
        ("get", reverse("casework:notice_pdf", args=[n])),
        *review_and_case_pages(objects),
        *notice_and_evidence_pages(objects),
    ]


def notice_and_evidence_pages(objects):
    """A notice's page, e-mail and sending; a case's evidence page and pack."""
    c, n = (objects[key].pk for key in ("case", "notice"))
    return [
        ("get", reverse("casework:notice_detail", args=[n])),
        ("get", reverse("casework:notice_eml", args=[n])),
        ("post", reverse("casework:notice_send", args=[n])),
        ("post", reverse("casework:notice_submission", args=[n])),
        ("get", reverse("casework:case_evidence", args=[c])),
        ("post", reverse("casework:case_evidence_export", args=[c])),
    ]


def review_and_case_pages(objects):
    """Face crops, case triage, notes and status, and reports."""
    f, c, r = (objects[key].pk for key in ("finding", "case", "report"))
    return [
        ("get", reverse("casework:finding_probe_crop", args=[f])),
        ("get", reverse("casework:finding_reference_crop", args=[f])),
        ("post", reverse("casework:case_triage", args=[c])),
        ("post", reverse("casework:case_note_create", args=[c])),
        ("post", reverse("casework:case_status", args=[c])),
        ("get", reverse("casework:report_detail", args=[r])),
        ("post", reverse("casework:report_case_open", args=[r])),
    ]


def test_an_outsider_gets_404_on_every_page_of_the_path(client, outsider, path_objects):
    client.force_login(outsider)
    for method, url in pages(path_objects):
        data = {"reason": "x", "action": "send", **NOTICE} if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, url
    assert Notice.objects.count() == 1
    takedown, case = path_objects["takedown"], path_objects["case"]
    takedown.refresh_from_db()
    case.refresh_from_db()
    assert takedown.state == TakedownRequest.State.READY and not case.depicts_minor
    assert Notice.objects.get().sent_at is None and not case.takedown_requests.get().notices.get().message_id
    assert not CaseNote.objects.exists() and not FindingSuppression.objects.exists()
    assert case.status == Case.Status.OPEN and not path_objects["report"].cases.exists()


def test_an_outsider_sees_an_empty_review_queue(client, outsider, astronaut_subject, images):
    scan(images["reported-astronaut.jpg"])
    client.force_login(outsider)
    page = client.get(reverse("casework:review_queue")).content.decode()
    assert "Nothing to review" in page and "Astronaut" not in page


def test_findings_and_requests_are_scoped_by_their_own_organisation_column(caseworker, path_objects):
    # The lists read one organisation's rows from the (organization, …) indexes: the scope is the row's own
    # column, filled from its subject or case when it is written, not a join through every subject or case.
    from casework.access import findings_for_user, takedown_request_get_for_user

    finding, takedown = path_objects["finding"], path_objects["takedown"]
    assert (finding.organization_id, takedown.organization_id) == (path_objects["case"].organization_id,) * 2
    assert list(findings_for_user(caseworker)) == [finding]
    where = str(findings_for_user(caseworker).query).split(" WHERE ")[1]
    assert where.startswith('"detection_finding"."organization_id" IN') and "casework_subject" not in where
    assert takedown_request_get_for_user(caseworker, takedown.pk) == takedown


def test_anonymous_users_are_sent_to_sign_in(client, path_objects):
    for method, url in [*pages(path_objects), ("get", reverse("casework:review_queue"))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_the_reviewer_of_the_organisation_sees_the_pages(client, caseworker, path_objects):
    client.force_login(caseworker)
    for method, url in pages(path_objects):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_roles_are_checked_on_review_case_and_report_endpoints(client, caseworker, legal, path_objects):
    f, c, r = (path_objects[key].pk for key in ("finding", "case", "report"))
    client.force_login(legal)
    # Reviewing and opening cases from reports is caseworkers' (and admins') work.
    assert client.post(reverse("casework:finding_reject", args=[f]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("casework:report_case_open", args=[r])).status_code == 403
    # Every member works a case: legal staff may triage it and write notes.
    assert client.post(reverse("casework:case_note_create", args=[c]), {"body": "Sent by post"}).status_code == 302
    triage = {"assignee": legal.pk, "priority": Case.Priority.HIGH, "tags": ""}
    assert client.post(reverse("casework:case_triage", args=[c]), triage).status_code == 302
    for name in ("finding_probe_crop", "finding_reference_crop"):
        assert client.get(reverse(f"casework:{name}", args=[f])).status_code == 200
    assert CaseNote.objects.count() == 1 and Case.objects.get(pk=c).assignee == legal


def test_notices_are_sent_by_legal_staff_and_evidence_exported_by_any_staff(client, caseworker, legal, path_objects):
    c, n = (path_objects[key].pk for key in ("case", "notice"))
    client.force_login(caseworker)
    assert client.post(reverse("casework:notice_send", args=[n])).status_code == 403
    assert client.post(reverse("casework:notice_submission", args=[n]), {"reference": "x"}).status_code == 403
    assert Notice.objects.get(pk=n).sent_at is None
    assert client.post(reverse("casework:case_evidence_export", args=[c])).status_code == 200
    client.force_login(legal)
    assert client.post(reverse("casework:notice_submission", args=[n]), {"reference": "form, #1"}).status_code == 302
    assert Notice.objects.get(pk=n).sent_at is not None


# --- The public report form and the subject portal -----------------------------------------------

def portal_pages(consent, photo):
    return [
        ("get", reverse("casework:portal_home")),
        ("get", reverse("casework:portal_password")),
        ("post", reverse("casework:portal_password")),
        ("get", reverse("casework:portal_consent_withdraw", args=[consent.pk])),
        ("post", reverse("casework:portal_consent_withdraw", args=[consent.pk])),
        ("get", reverse("casework:portal_consent_receipt", args=[consent.pk])),
        ("post", reverse("casework:portal_photo_add")),
        ("post", reverse("casework:portal_photo_remove", args=[photo.pk])),
    ]


def test_public_pages_answer_anonymous_users(client, org, settings):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    for name in ("public_report", "public_report_status", "portal_sign_in"):
        assert client.get(reverse(f"casework:{name}")).status_code == 200, name
    # Without a report opened by its PIN, adding to one is refused, not offered.
    assert client.post(reverse("casework:public_report_add"), {"note": "x"}).status_code == 404


def test_portal_pages_send_anonymous_users_to_the_portal_sign_in(client, astronaut_subject):
    consent, photo = astronaut_subject.consents.get(), astronaut_subject.reference_photos.get()
    for method, url in portal_pages(consent, photo):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("casework:portal_sign_in")), url


def test_staff_of_any_organisation_get_404_on_portal_pages(client, outsider, caseworker, astronaut_subject):
    consent, photo = astronaut_subject.consents.get(), astronaut_subject.reference_photos.get()
    for user in (outsider, caseworker):  # staff are not subjects, even of their own organisation
        client.force_login(user)
        for method, url in portal_pages(consent, photo):
            assert getattr(client, method)(url).status_code == 404, url
    from casework.models import Consent
    from detection.models import ReferencePhoto

    assert Consent.objects.get(pk=consent.pk).is_active and ReferencePhoto.objects.filter(pk=photo.pk).exists()


def test_a_subject_user_gets_404_on_every_staff_page_of_the_path(client, path_objects):
    from casework.services.portal import subject_user_ensure

    # The subject of these very objects: without a Membership they are an outsider to staff pages.
    client.force_login(subject_user_ensure(subject=path_objects["case"].subject))
    for method, url in pages(path_objects):
        data = {"reason": "x", "action": "send", **NOTICE} if method == "post" else None
        assert getattr(client, method)(url, data).status_code == 404, url
    assert not CaseNote.objects.exists() and not path_objects["report"].cases.exists()
