"""Known images and videos registered from the browser: the person chooses files, the page hashes them on
the device (casework/static/casework/hash_register.js) and sends only the lines. Every request the page
makes is recorded, to show that none carries the image."""

import hashlib
import io
import re

import pytest
from django.core import mail

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose, Report, ReporterRole
from casework.services.consent import subject_enroll
from casework.services.known_hashes import known_hashes_register
from detection.engine.video import vpdq
from detection.engine.video.scan import video_frame_hashes
from detection.models import Finding
from tests.browser.conftest import PHONE
from tests.browser.test_casework_journey import _sign_in as sign_in_staff
from tests.casework.test_known_hashes import reupload, small_video
from tests.detection.test_scan import scan
from tests.engine.test_video import reencoded, two_shot_frames, write_video

EMAIL = "kim@example.org"
RUN = 64  # no request body may hold any run of this many bytes of a chosen file


# What the page says for a video whose pictures this browser cannot decode (its MD5 is registered all the same).
UNDECODABLE = "hashed by its file only: this browser cannot show its pictures"


@pytest.fixture(scope="module")
def browser_video(tmp_path_factory) -> dict:
    """A video Debian's chromium decodes (VP8 in WebM, made with OpenCV), and a copy of it in other bytes:
    smaller, MJPEG in AVI, as a re-upload would be re-encoded."""
    from skimage import data

    folder = tmp_path_factory.mktemp("browser-video")
    original = write_video(folder / "private.webm", two_shot_frames(data.astronaut(), data.coffee()), fourcc="VP80")
    return {"original": original, "copy": reencoded(original, folder / "copy.avi").read_bytes()}


def carries_bytes_of(body: bytes, data: bytes) -> bool:
    return any(body[i:i + RUN] in data for i in range(max(0, len(body) - RUN + 1)))


def record_bodies(page) -> list[bytes]:
    bodies = []
    page.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
    return bodies


def test_carries_bytes_of_finds_a_run_of_the_file_anywhere_in_a_body():
    data = bytes(range(256)) * 4
    assert carries_bytes_of(b"header" + data[300:364] + b"tail", data)
    assert not carries_bytes_of(b"header" + data[300:363] + b"tail", data)


def test_a_subject_on_a_phone_registers_an_image_without_sending_it_and_a_copy_is_found(
    live_server, org, consent_text, images, new_page, screenshot, tmp_path
):
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING], contact_email=EMAIL,
    )
    private = tmp_path / "private.jpg"
    private.write_bytes(images["reference.jpg"])
    page = new_page(**PHONE)
    bodies = record_bodies(page)

    page.goto(f"{live_server.url}/portal/sign-in")
    page.fill("#link-email", EMAIL)
    page.click("main button:has-text('E-mail me a link')")
    page.locator("main .message", has_text="sign-in link is on its way").wait_for()
    page.goto(re.search(r"https?://\S+/portal/link/\S+", mail.outbox[-1].body).group(0))
    page.click("main button:has-text('Sign in')")
    page.locator("h2", has_text="Known images of you").wait_for()
    page.locator("[data-hash-register]").wait_for()  # shown by the script: the paste box alone until then
    send = page.locator("main button:has-text('Register these hashes')")
    assert send.is_disabled()  # nothing chosen or pasted yet
    assert page.locator("#hash-register-files").get_attribute("name") is None
    screenshot(page, "before")

    page.set_input_files("#hash-register-files", str(private))
    page.locator(".hash-results li.hashed", has_text="private.jpg").wait_for()
    lines = page.input_value("#id_hashes").splitlines()
    assert [line.split(":")[0] for line in lines] == ["pdq", "phash"] and lines[0].endswith("# private.jpg")
    assert page.locator("progress").get_attribute("value") == "1"
    with page.expect_download() as saved:
        page.click("button:has-text('Save the lines to a file')")
    assert saved.value.suggested_filename == "reclaim-hashes.txt"
    screenshot(page, "hashed")
    send.click()
    page.locator("main .message", has_text="2 new hashes registered").wait_for()

    assert not any(carries_bytes_of(body, private.read_bytes()) for body in bodies)
    assert sum(len(body) for body in bodies) < 10_000
    assert subject.known_hashes.count() == 2
    # A smaller, recompressed copy of the image, scanned later, is found by the hash made in the browser.
    finding = scan(reupload(images["reference.jpg"])).findings.get()
    assert finding.subject == subject and finding.kind == Finding.Kind.HASH


def portal_sign_in(page, url: str) -> None:
    page.goto(f"{url}/portal/sign-in")
    page.fill("#link-email", EMAIL)
    page.click("main button:has-text('E-mail me a link')")
    page.locator("main .message", has_text="sign-in link is on its way").wait_for()
    page.goto(re.search(r"https?://\S+/portal/link/\S+", mail.outbox[-1].body).group(0))
    page.click("main button:has-text('Sign in')")
    page.locator("[data-hash-register]").wait_for()


def test_offline_a_video_this_browser_cannot_decode_is_registered_by_its_md5_and_the_page_says_so(
    live_server, org, consent_text, images, new_page, tmp_path
):
    """small_video() is MPEG-4 Part 2 (OpenCV's mp4v), which Debian's chromium does not decode."""
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING], contact_email=EMAIL,
    )
    photo, video = tmp_path / "private.jpg", tmp_path / "private.mp4"
    photo.write_bytes(images["reference.jpg"])
    video.write_bytes(small_video())
    page = new_page(**PHONE)
    bodies = record_bodies(page)
    portal_sign_in(page, live_server.url)

    page.context.set_offline(True)  # from here until sending, the page has no network at all
    page.set_input_files("#hash-register-files", [str(photo), str(video)])
    page.locator(".hash-results li.hashed", has_text="private.mp4").wait_for()
    assert page.locator(".hash-results li.hashed").count() == 2
    assert UNDECODABLE in page.locator(".hash-results li", has_text="private.mp4").inner_text()
    lines = page.input_value("#id_hashes").splitlines()
    assert [line.split(":")[0] for line in lines] == ["pdq", "phash", "md5"]
    assert lines[2] == f"md5:{hashlib.md5(video.read_bytes()).hexdigest()}  # private.mp4"
    assert page.evaluate("navigator.onLine") is False

    page.context.set_offline(False)
    page.click("main button:has-text('Register these hashes')")
    page.locator("main .message", has_text="3 new hashes registered").wait_for()
    assert sorted(subject.known_hashes.values_list("algorithm", flat=True)) == ["md5", "pdq", "phash"]
    assert bodies and sum(len(body) for body in bodies) < 10_000
    for data in (photo.read_bytes(), video.read_bytes()):
        assert not any(carries_bytes_of(body, data) for body in bodies)


def test_offline_a_subject_registers_an_image_and_a_video_and_a_reencoded_copy_of_the_video_is_found(
    live_server, org, consent_text, images, new_page, screenshot, tmp_path, browser_video
):
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING], contact_email=EMAIL,
    )
    photo, video = tmp_path / "private.jpg", browser_video["original"]
    photo.write_bytes(images["reference.jpg"])
    page = new_page(**PHONE)
    bodies = record_bodies(page)
    portal_sign_in(page, live_server.url)

    page.context.set_offline(True)  # from here until sending, the page has no network at all
    page.set_input_files("#hash-register-files", [str(photo), str(video)])
    page.locator(".hash-results li.hashed", has_text="private.webm").wait_for(timeout=60_000)
    assert "of its pictures so that a re-encoded copy is recognised" in page.locator(
        ".hash-results li", has_text="private.webm").inner_text()
    lines = page.input_value("#id_hashes").splitlines()
    assert [line.split(":")[0] for line in lines] == ["pdq", "phash", "md5", "vpdq"]
    assert lines[3].endswith("  # private.webm")
    # The browser sampled the frames the engine samples, and hashed them within a few bits of it.
    browser = vpdq.vpdq_parse(lines[3][len("vpdq:"):].split("#")[0])
    engine = video_frame_hashes(video)
    assert [round(f.t, 3) for f in browser] == [round(f.t, 3) for f in engine]
    assert vpdq.match_vpdq(browser, engine, distance=16) == vpdq.VpdqShares(1.0, 1.0)
    assert page.evaluate("navigator.onLine") is False
    screenshot(page, "hashed")

    page.context.set_offline(False)
    page.click("main button:has-text('Register these hashes')")
    page.locator("main .message", has_text="4 new hashes registered").wait_for()
    assert subject.known_videos.count() == 1
    assert bodies and sum(len(body) for body in bodies) < 2 * 10_000
    for data in (photo.read_bytes(), video.read_bytes()):
        assert not any(carries_bytes_of(body, data) for body in bodies)
    # The copy is other bytes (its MD5 is not the registered one): its frames find it.
    finding = scan(browser_video["copy"], name="copy.avi").findings.get()
    assert (finding.subject, finding.kind, finding.model_version) == (subject, Finding.Kind.HASH, "vpdq")


def png_with_a_broken_chunk() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(out, "PNG")
    data = bytearray(out.getvalue())
    start = data.index(b"IDAT") + 4
    data[start:start + 8] = b"\xde\xad\xbe\xef" * 2  # the compressed pixels no longer inflate
    return bytes(data)


def test_files_that_are_not_images_or_videos_are_named_with_their_reason_and_a_damaged_video_keeps_its_md5(
    live_server, caseworker, org, consent_text, images, new_page, tmp_path
):
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING], contact_email=EMAIL,
    )
    notes, broken = tmp_path / "notes.txt", tmp_path / "broken.jpg"
    truncated, png, fake = tmp_path / "truncated.jpg", tmp_path / "chunk.png", tmp_path / "noise.mp4"
    notes.write_text("not an image")
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    truncated.write_bytes(images["reference.jpg"][:600])  # the header and the first scan bytes only
    png.write_bytes(png_with_a_broken_chunk())
    fake.write_bytes(bytes(range(256)) * 64)
    damaged = tmp_path / "damaged.webm"  # a WebM's first bytes, then noise: a video, but nothing decodes
    damaged.write_bytes(b"\x1a\x45\xdf\xa3" + bytes((i * 7919) % 251 for i in range(20_000)))
    page = new_page()
    sign_in_staff(page, live_server.url, caseworker, f"/subjects/{subject.pk}/")
    page.locator("[data-hash-register]").wait_for()

    chosen = [notes, broken, truncated, png, fake, damaged]
    page.set_input_files("#hash-register-files", [str(path) for path in chosen])
    page.locator(".hash-results li", has_text="damaged.webm").wait_for()
    assert "not an image" in page.locator(".hash-results li", has_text="notes.txt").inner_text()
    for name in ("broken.jpg", "truncated.jpg", "chunk.png"):
        assert "could not be read" in page.locator(".hash-results li", has_text=name).inner_text(), name
    assert "is named as a video but is not one" in page.locator(".hash-results li", has_text="noise.mp4").inner_text()
    # The damaged video's pictures cannot be hashed, but its MD5 still finds the very same file.
    assert UNDECODABLE in page.locator(".hash-results li", has_text="damaged.webm").inner_text()
    assert page.locator(".hash-results li.hashed").count() == 1
    assert page.input_value("#id_hashes") == f"md5:{hashlib.md5(damaged.read_bytes()).hexdigest()}  # damaged.webm"


def test_a_reporter_on_a_phone_sends_only_the_hashes_of_an_image_and_a_copy_is_recognised(
    live_server, settings, org, consent_text, images, new_page, screenshot, tmp_path
):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    private = tmp_path / "mine.jpg"
    private.write_bytes(images["reference.jpg"])
    page = new_page(**PHONE)
    bodies = record_bodies(page)

    page.goto(f"{live_server.url}/report/")
    page.check(f"input[name=reporter_role][value={ReporterRole.DEPICTED}]")
    page.check("input[name=under_18][value=no]")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/report/check$"))
    page.locator("[data-hash-register]").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.set_input_files("#hash-register-files", str(private))
    page.locator(".hash-results li.hashed", has_text="mine.jpg").wait_for()
    assert page.input_value("#id_known_hashes").startswith("pdq:")
    screenshot(page, "hashed")
    page.click("main button[type=submit]")
    page.locator("h1", has_text="Your report is sent").wait_for()

    assert not any(carries_bytes_of(body, private.read_bytes()) for body in bodies)
    report = Report.objects.get(reference=page.locator("[data-reference]").inner_text().strip())
    assert not report.media_items.exists() and len(report.known_hashes.splitlines()) == 2
    # The caseworker registers the report's lines on a consenting subject; a recompressed copy is then found.
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING],
    )
    known_hashes_register(subject=subject, text=report.known_hashes, by=None)
    finding = scan(reupload(images["reference.jpg"])).findings.get()
    assert finding.subject == subject and finding.kind == Finding.Kind.HASH


def test_offline_a_reporter_sends_only_the_hashes_of_an_image_and_a_video_and_a_caseworker_moves_them(
    live_server, settings, org, consent_text, caseworker, images, new_page, screenshot, tmp_path, browser_video
):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    photo, video = tmp_path / "mine.jpg", browser_video["original"]
    photo.write_bytes(images["reference.jpg"])
    page = new_page(**PHONE)
    bodies = record_bodies(page)
    page.goto(f"{live_server.url}/report/")
    page.check(f"input[name=reporter_role][value={ReporterRole.DEPICTED}]")
    page.check("input[name=under_18][value=no]")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/report/check$"))
    page.locator("[data-hash-register]").wait_for()

    page.context.set_offline(True)
    page.set_input_files("#hash-register-files", [str(photo), str(video)])
    page.locator(".hash-results li.hashed", has_text="private.webm").wait_for(timeout=60_000)
    assert [line.split(":")[0] for line in page.input_value("#id_known_hashes").splitlines()] == [
        "pdq", "phash", "md5", "vpdq"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # a long line does not widen the page
    screenshot(page, "hashed")
    page.context.set_offline(False)
    page.click("main button[type=submit]")
    page.locator("h1", has_text="Your report is sent").wait_for()
    assert sum(len(body) for body in bodies) < 2 * 10_000
    for data in (photo.read_bytes(), video.read_bytes()):
        assert not any(carries_bytes_of(body, data) for body in bodies)
    report = Report.objects.get(reference=page.locator("[data-reference]").inner_text().strip())
    assert not report.media_items.exists() and len(report.known_hashes.splitlines()) == 4

    # A caseworker moves the lines to the subject, who consents to hash matching, from the report's page.
    subject = subject_enroll(
        organization=org, display_name="Kim Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Kim Example", photos=[], purposes=[ConsentPurpose.HASH_MATCHING],
    )
    desk = new_page()
    sign_in_staff(desk, live_server.url, caseworker, f"/reports/{report.pk}/")
    desk.select_option("#hash-subject", str(subject.pk))
    desk.click("main button:has-text('Move the lines to this subject')")
    desk.locator("main .message", has_text="4 new hashes registered").wait_for()
    report.refresh_from_db()
    assert report.known_hashes == "" and subject.known_videos.count() == 1
    assert AuditEvent.objects.get(action="report.hashes_moved").data["lines"] == 4
    finding = scan(browser_video["copy"], name="copy.avi").findings.get()
    assert (finding.subject, finding.kind, finding.model_version) == (subject, Finding.Kind.HASH, "vpdq")
