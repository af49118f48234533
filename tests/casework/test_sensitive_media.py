"""Sensitive media fails closed (issue 11): before a person chooses to look, every media view sends a
server-blurred rendering, never the original; the original goes only to the session that recorded the
choice, for that finding and that media, for a while."""

import hashlib
import io
import re

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from casework.models import AuditEvent
from casework.services import reveals
from detection import crops
from detection.engine import faces
from detection.media_files import media_item_read
from detection.models import Finding, MediaItem
from detection.services import media_ingest
from tests import factories
from tests.detection.test_scan import scan

CROPS = {"probe_face": "casework:finding_probe_crop", "reference_face": "casework:finding_reference_crop"}


@pytest.fixture
def finding(astronaut_subject, images):
    return scan(images["reported-astronaut.jpg"], url="https://x.example/p/1").findings.get()


def reveal(client, finding, what: str = "media", **extra):
    return client.post(reverse("casework:finding_media_reveal", args=[finding.pk]), {"what": what, **extra})


def original_url(name: str, finding) -> str:
    return reverse(name, args=[finding.pk]) + "?view=original"


def detail(jpeg: bytes) -> float:
    """Mean absolute difference between neighbouring pixels (grey levels): the fine detail a face is
    recognised by. A photograph has several grey levels of it; a heavy blur well under one."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float32)
    return float((np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()) / 2)


def assert_blurred(response, original: bytes) -> None:
    body = response.content
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert hashlib.sha256(body).digest() != hashlib.sha256(original).digest()
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG" and max(image.size) <= crops.BLURRED_SIDE
    assert detail(body) < 1.0 < detail(original)


def test_the_blurred_rendering_keeps_no_detail_and_no_face(images):
    original = images["reported-astronaut.jpg"]
    rgb = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"))
    assert faces.detect(rgb)  # the face is found in the original
    blurred = crops.media_blurred_jpeg(original, kind="image")
    assert detail(original) > 4 and detail(blurred) < 0.5
    assert faces.detect(np.asarray(Image.open(io.BytesIO(blurred)).convert("RGB"))) == []


def test_before_a_reveal_the_finding_media_is_a_blurred_rendering_even_when_the_original_is_asked_for(
    client, caseworker, finding, images
):
    client.force_login(caseworker)
    for url in (reverse("casework:finding_media", args=[finding.pk]), original_url("casework:finding_media", finding)):
        assert_blurred(client.get(url), images["reported-astronaut.jpg"])
    assert not AuditEvent.objects.filter(action="media.revealed").exists()


@pytest.mark.parametrize("what", sorted(CROPS))
def test_before_a_reveal_each_face_crop_is_blurred_and_after_it_the_crop_is_sent(client, caseworker, finding, what):
    crop = (crops.finding_probe_crop if what == "probe_face" else crops.finding_reference_crop)(finding)
    client.force_login(caseworker)
    assert_blurred(client.get(original_url(CROPS[what], finding)), crop)
    assert reveal(client, finding, what).status_code == 204
    response = client.get(original_url(CROPS[what], finding))
    assert response.content == crop and response["Cache-Control"] == "private, no-store"
    assert_blurred(client.get(reverse(CROPS[what], args=[finding.pk])), crop)  # the plain URL stays blurred


def test_after_a_reveal_the_original_goes_to_that_session_and_is_on_the_record(client, caseworker, finding, images):
    client.force_login(caseworker)
    assert reveal(client, finding).status_code == 204
    response = client.get(original_url("casework:finding_media", finding))
    assert response.content == images["reported-astronaut.jpg"] and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store" and response["Content-Disposition"].startswith("inline")
    event = AuditEvent.objects.get(action="media.revealed")
    assert (event.actor, event.data) == (caseworker, {"finding": finding.pk, "what": "media"})


def test_a_reveal_opens_neither_another_persons_session_nor_another_media_nor_another_finding(
    client, org, caseworker, finding, astronaut_subject, images
):
    client.force_login(caseworker)
    reveal(client, finding, "probe_face")
    assert_blurred(client.get(original_url("casework:finding_media", finding)), images["reported-astronaut.jpg"])
    reveal(client, finding, "media")
    colleague = Client()
    colleague.force_login(factories.staff(org, "caseworker"))
    assert_blurred(colleague.get(original_url("casework:finding_media", finding)), images["reported-astronaut.jpg"])
    item = media_ingest(data=images["reference.jpg"], source=MediaItem.Source.UPLOAD)
    other = Finding.objects.create(media_item=item, subject=astronaut_subject, kind=Finding.Kind.HASH,
                                   organization_id=astronaut_subject.organization_id,
                                   distance=3, threshold=31, model_version="pdq")
    assert_blurred(client.get(original_url("casework:finding_media", other)), images["reference.jpg"])


def test_a_reveal_ends_when_it_expires_and_when_the_viewer_blurs_again(client, caseworker, finding, images,
                                                                       monkeypatch):
    original = images["reported-astronaut.jpg"]
    client.force_login(caseworker)
    reveal(client, finding)
    assert client.get(original_url("casework:finding_media", finding)).content == original
    assert reveal(client, finding, hide="1").status_code == 204
    assert_blurred(client.get(original_url("casework:finding_media", finding)), original)

    reveal(client, finding)
    later = reveals._now() + 60 * reveals.REVEAL_MINUTES + 1
    monkeypatch.setattr(reveals, "_now", lambda: later)
    assert_blurred(client.get(original_url("casework:finding_media", finding)), original)


def test_signing_out_ends_a_reveal(client, caseworker, finding, images):
    client.force_login(caseworker)
    reveal(client, finding)
    client.post(reverse("logout"))
    client.force_login(caseworker)
    assert_blurred(client.get(original_url("casework:finding_media", finding)), images["reported-astronaut.jpg"])


def _sources(page: str) -> list[str]:
    return re.findall(r'<(?:img|video)[^>]* src="([^"]+)"', page)


def test_a_page_without_its_static_files_names_only_blurred_renderings(client, caseworker, finding, images):
    """What a browser shows when no stylesheet or script arrives (nothing serves /static/): the images
    the HTML itself names. None of them is the original media or a face crop."""
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    sources = _sources(page)
    assert len(sources) == 3 and not any("view=original" in src for src in sources)
    secrets = {images["reported-astronaut.jpg"], crops.finding_probe_crop(finding), crops.finding_reference_crop(finding)}
    for src in sources:
        response = client.get(src)
        assert response.content not in secrets and detail(response.content) < 1.0


def test_show_media_works_without_javascript_and_returns_to_the_page(client, caseworker, finding, images):
    client.force_login(caseworker)
    page_url = reverse("casework:finding_detail", args=[finding.pk])
    response = reveal(client, finding, "media", next=page_url)
    assert response.status_code == 302 and response.url == page_url
    assert AuditEvent.objects.filter(action="media.revealed", data__what="media").exists()
    page = client.get(page_url).content.decode()
    media_src = original_url("casework:finding_media", finding)
    assert media_src in _sources(page) and "Blur media again" in page
    assert client.get(media_src).content == images["reported-astronaut.jpg"]
    assert page.count('class="blurred"') == 2  # the two faces stay blurred: they were not revealed

    response = reveal(client, finding, "media", hide="1", next=page_url)
    assert response.status_code == 302 and media_src not in _sources(client.get(page_url).content.decode())


def test_the_reveal_form_never_sends_the_viewer_to_another_site(client, caseworker, finding):
    client.force_login(caseworker)
    response = reveal(client, finding, "media", next="https://evil.example/")
    assert response.status_code == 302 and response.url == reverse("casework:finding_detail", args=[finding.pk])


def test_a_video_is_a_blurred_first_frame_until_revealed_then_a_video(client, caseworker, astronaut_subject, tmp_path):
    from tests.engine.test_video import write_video

    frame = np.asarray(Image.open(io.BytesIO(crops.placeholder_jpeg(320, 240))).convert("RGB")).copy()
    frame[60:180, 100:220] = (250, 20, 20)  # a red square: the blurred poster keeps its colour, not its edges
    data = write_video(tmp_path / "clip.mp4", [frame] * 10).read_bytes()
    item = media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name="clip.mp4")
    MediaItem.objects.filter(pk=item.pk).update(kind=MediaItem.Kind.VIDEO)
    finding = Finding.objects.create(media_item=item, subject=astronaut_subject, kind=Finding.Kind.HASH,
                                     organization_id=astronaut_subject.organization_id,
                                     distance=3, threshold=31, model_version="vpdq")
    client.force_login(caseworker)
    page_url = reverse("casework:finding_detail", args=[finding.pk])
    assert "<video" not in client.get(page_url).content.decode()
    poster = client.get(original_url("casework:finding_media", finding))
    assert poster["Content-Type"] == "image/jpeg" and poster.content != data
    red, _, _ = np.asarray(Image.open(io.BytesIO(poster.content)).convert("RGB"), dtype=int).mean(axis=(0, 1))
    assert red > 140  # the first frame's colours, blurred
    reveal(client, finding, "media", next=page_url)
    page = client.get(page_url).content.decode()
    assert f'<video src="{original_url("casework:finding_media", finding)}"' in page
    assert client.get(original_url("casework:finding_media", finding)).content == media_item_read(item)


def test_media_that_is_not_an_image_or_a_video_is_a_grey_placeholder_until_revealed(client, caseworker,
                                                                                      astronaut_subject):
    data = b"<html><script>alert(1)</script></html>"
    item = media_ingest(data=data, source=MediaItem.Source.REPORT, original_name="photo.html")
    finding = Finding.objects.create(media_item=item, subject=astronaut_subject, kind=Finding.Kind.HASH,
                                     organization_id=astronaut_subject.organization_id,
                                     distance=3, threshold=31, model_version="pdq")
    client.force_login(caseworker)
    response = client.get(reverse("casework:finding_media", args=[finding.pk]))
    assert response["Content-Type"] == "image/jpeg" and response.content == crops.placeholder_jpeg()
