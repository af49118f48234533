"""Every page of the thin path refuses anonymous users and hides other organisations' data."""

import pytest
from django.urls import reverse

from casework.models import Notice, Regime, TakedownRequest
from casework.services.cases import finding_confirm
from casework.services.notices import NoticeDraft, notice_generate
from tests.casework.test_thin_path import NOTICE, URL
from tests.detection.test_scan import scan


@pytest.fixture
def path_objects(astronaut_subject, images, caseworker, legal):
    finding = scan(images["reported-astronaut.jpg"], url=URL).findings.get()
    case, takedown = finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL,
                                     regime=Regime.TAKE_IT_DOWN)
    notice = notice_generate(request=takedown, draft=NoticeDraft(**NOTICE), by=legal)
    consent = astronaut_subject.consents.get()
    return {"finding": finding, "case": case, "takedown": takedown, "notice": notice, "consent": consent}


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


def test_an_outsider_sees_an_empty_review_queue(client, outsider, astronaut_subject, images):
    scan(images["reported-astronaut.jpg"])
    client.force_login(outsider)
    page = client.get(reverse("casework:review_queue")).content.decode()
    assert "Nothing to review" in page and "Astronaut" not in page


def test_anonymous_users_are_sent_to_sign_in(client, path_objects):
    for method, url in [*pages(path_objects), ("get", reverse("casework:review_queue"))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_the_reviewer_of_the_organisation_sees_the_pages(client, caseworker, path_objects):
    client.force_login(caseworker)
    for method, url in pages(path_objects):
        if method == "get":
            assert client.get(url).status_code == 200, url
