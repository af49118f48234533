"""The platform directory: a URL resolves to its platform by host, and a request is addressed from it."""

import pytest
from django.urls import reverse

from casework.admin import HOST_NOT_A_DOMAIN, PlatformHostForm
from casework.models import Regime, TakedownRequest
from casework.selectors import host_normalize, platform_for_url, platform_recipient
from casework.services.cases import PLATFORM_NEEDED, CaseError, case_open, takedown_request_create
from casework.services.consent import subject_create
from tests import factories
from tests.detection.test_scan import scan

VIDEO_URL = "https://m.video.example.com/watch/abc123"


@pytest.fixture
def tube(db):
    return factories.PlatformFactory(
        name="ExampleTube", hosts=["video.example.com", "exampletube.example"],
        abuse_email="abuse@exampletube.example", dmca_agent_email="dmca@exampletube.example",
        dsa_contact_email="dsa@exampletube.example", web_form_url="https://exampletube.example/report",
    )


@pytest.mark.parametrize("url", [
    "https://video.example.com/watch/1",
    VIDEO_URL,  # a sub-domain
    "http://VIDEO.Example.COM:8080/x",  # case and port do not matter
    "https://cdn.eu.video.example.com./img.jpg",  # nor the root's trailing dot
])
def test_a_url_resolves_to_its_platform_by_host(tube, url):
    assert platform_for_url(url) == tube


@pytest.mark.parametrize("url", [
    "https://badvideo.example.com/x",  # a suffix only on a label boundary
    "https://example.com/x",  # the parent domain is not the platform's
    "https://unknown.example.org/x",
    "not a url",
    "",
])
def test_other_urls_resolve_to_no_platform(tube, url):
    assert platform_for_url(url) is None


def test_the_longest_matching_host_wins(tube):
    shorts = factories.PlatformFactory(name="Shorts", hosts=["shorts.video.example.com"])
    assert platform_for_url("https://a.shorts.video.example.com/v") == shorts
    assert platform_for_url("https://video.example.com/v") == tube


def test_international_host_names_match_in_either_form(db):
    platform = factories.PlatformFactory(hosts=[host_normalize("bücher.example")])
    assert platform_for_url("https://www.bücher.example/x") == platform
    assert platform_for_url("https://www.xn--bcher-kva.example/x") == platform


@pytest.mark.parametrize(("regime", "recipient"), [
    (Regime.DMCA, "dmca@exampletube.example"),
    (Regime.DSA, "dsa@exampletube.example"),
    (Regime.TAKE_IT_DOWN, "abuse@exampletube.example"),
    (Regime.GDPR, "abuse@exampletube.example"),
])
def test_each_regime_goes_to_its_contact_point(tube, regime, recipient):
    assert platform_recipient(tube, regime) == recipient


def test_without_a_regime_contact_the_abuse_address_is_used(db):
    platform = factories.PlatformFactory(abuse_email="abuse@small.example")
    assert platform_recipient(platform, Regime.DMCA) == "abuse@small.example"


def test_a_request_addressed_from_the_directory_takes_its_name_and_contact(org, caseworker, tube):
    case = case_open(subject=subject_create(organization=org, display_name="S"), by=caseworker)
    request = takedown_request_create(case=case, platform="", target_url=VIDEO_URL, regime=Regime.DMCA,
                                      by=caseworker, directory_platform=tube)
    assert (request.platform, request.recipient_email, request.directory_platform) == (
        "ExampleTube", "dmca@exampletube.example", tube)
    with pytest.raises(CaseError) as refused:
        takedown_request_create(case=case, platform=" ", target_url=VIDEO_URL, regime=Regime.DMCA, by=caseworker)
    assert refused.value.reason == PLATFORM_NEEDED


def test_the_confirm_form_pre_selects_the_platform_of_the_media_url(client, caseworker, tube, astronaut_subject,
                                                                    images):
    finding = scan(images["reported-astronaut.jpg"], url=VIDEO_URL).findings.get()
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert f'<option value="{tube.pk}" selected>ExampleTube</option>' in page
    response = client.post(reverse("casework:finding_confirm", args=[finding.pk]),
                           {"directory_platform": tube.pk, "platform": "", "target_url": VIDEO_URL,
                            "regime": Regime.DSA})
    assert response.status_code == 302
    request = TakedownRequest.objects.get()
    assert (request.platform, request.directory_platform, request.recipient_email) == (
        "ExampleTube", tube, "dsa@exampletube.example")


def test_confirming_needs_a_platform_name_or_entry(client, caseworker, astronaut_subject, images):
    finding = scan(images["reported-astronaut.jpg"], url="https://unknown.example.org/p").findings.get()
    client.force_login(caseworker)
    response = client.post(reverse("casework:finding_confirm", args=[finding.pk]),
                           {"platform": "", "target_url": "https://unknown.example.org/p", "regime": Regime.DSA})
    assert response.status_code == 400 and str(PLATFORM_NEEDED) in response.content.decode()
    assert not TakedownRequest.objects.exists()


@pytest.mark.parametrize(("typed", "stored"), [("Video.Example.COM.", "video.example.com"),
                                                ("bücher.example", "xn--bcher-kva.example")])
def test_the_admin_stores_hosts_normalised(db, typed, stored):
    form = PlatformHostForm(data={"host": typed})
    assert form.is_valid() and form.cleaned_data["host"] == stored


@pytest.mark.parametrize("typed", ["com", "example..com", ".example.com"])
def test_the_admin_refuses_a_host_that_is_not_a_domain(db, typed):
    form = PlatformHostForm(data={"host": typed})
    assert not form.is_valid() and form.errors["host"] == [HOST_NOT_A_DOMAIN]


def test_the_directory_is_in_the_admin(admin_client, tube):
    page = admin_client.get(reverse("admin:casework_platform_change", args=[tube.pk])).content.decode()
    assert "video.example.com" in page and "dmca@exampletube.example" in page
    listing = admin_client.get(reverse("admin:casework_platform_changelist")).content.decode()
    assert "video.example.com, exampletube.example" in listing or "exampletube.example, video.example.com" in listing


def test_the_page_names_the_platform_before_the_file_host(client, caseworker, tube, astronaut_subject, images):
    from detection.models import MediaItem

    cdn = factories.PlatformFactory(name="Some CDN", hosts=["cdn.example.net"])
    finding = scan(images["reported-astronaut.jpg"], url="https://cdn.example.net/i/1.jpg").findings.get()
    # As media_ingest_url records an image found on a page: the file on a CDN, the page on the platform.
    MediaItem.objects.filter(pk=finding.media_item_id).update(page_url=VIDEO_URL)
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert f'<option value="{tube.pk}" selected>' in page and f'<option value="{cdn.pk}" selected>' not in page
