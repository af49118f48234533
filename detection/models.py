"""Media and machines: media items, reference photos, face templates, known-image hashes, findings
and indicator results.

Biometric rows (reference photos, templates, known-image hashes) exist only while the subject's
consent allows them: withdrawing consent deletes them (``services.subject_biometrics_purge``), so
"no template rows" is how this app knows a subject is not matchable. It never imports casework;
it points at ``casework.Subject`` by string reference.
"""

import numpy as np
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from detection.engine.faces import EMBEDDING_SIZE


class ReferencePhoto(models.Model):
    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="reference_photos")
    image = models.FileField(upload_to="reference/")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)


class FaceTemplate(models.Model):
    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="face_templates")
    reference_photo = models.ForeignKey(ReferencePhoto, on_delete=models.CASCADE, related_name="templates")
    embedding = models.BinaryField()  # float64 × 128, little-endian, as a Fernet token (detection.encryption)
    box = models.JSONField()
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def vector(self) -> np.ndarray:
        from detection.encryption import data_decrypt

        vector = np.frombuffer(data_decrypt(token=self.embedding), dtype="<f8")
        assert vector.shape == (EMBEDDING_SIZE,)
        return vector


class KnownImageHash(models.Model):
    """A perceptual hash of an image the subject wants found. The image itself never reaches us."""

    class Algorithm(models.TextChoices):
        PDQ = "pdq", "PDQ"
        PHASH = "phash", "pHash"
        # A video's whole-file MD5 (StopNCII's VideoMD5): finds the very same bytes, not a re-encoding.
        MD5 = "md5", "MD5"

    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="known_hashes")
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices)
    value = models.CharField(max_length=64)
    quality = models.IntegerField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "algorithm", "value"], name="known_hash_once_per_subject")
        ]


class KnownVideo(models.Model):
    """The frame hashes (vPDQ) of a video the subject wants found. The video itself never reaches us.

    A scanned video is the same video when enough of its sampled frames and of these match each other
    (engine.video.vpdq.match_vpdq), so a re-encoded or resized copy is found, not only the same bytes
    (KnownImageHash's MD5). Biometric data like known-image hashes: kept only under consent to hash
    matching, purged with them (services.subject_biometrics_purge)."""

    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="known_videos")
    # [{t, pdq, quality}] of the sampled frames, as MediaItem.frame_pdq holds a scanned video's.
    frames = models.JSONField()
    # SHA-256 of the sorted distinct frame hashes: the same video registered twice is one row.
    fingerprint = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "fingerprint"], name="known_video_once_per_subject")
        ]


class MediaItem(models.Model):
    """One captured file (an upload, a report's attachment, a crawled or API-submitted URL)."""

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded by staff")
        REPORT = "report", _("Public report")
        CRAWL = "crawl", _("Crawled")
        API = "api", _("Partner API")

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Video")
        UNKNOWN = "unknown", pgettext_lazy("kind of media", "Unknown")

    class Status(models.TextChoices):
        # A submitted URL not fetched yet: a task fetches it (services.media_url_fetch).
        FETCHING = "fetching", pgettext_lazy("media item status", "Fetching")
        RECEIVED = "received", pgettext_lazy("media item status", "Received")
        PROCESSING = "processing", pgettext_lazy("media item status", "Processing")
        DONE = "done", pgettext_lazy("media item status", "Done")
        FAILED = "failed", pgettext_lazy("media item status", "Failed")
        # A submitted URL that was a page, or bytes already captured: its media are ``found_media_items``.
        FETCHED = "fetched", pgettext_lazy("media item status", "Fetched")

    source = models.CharField(max_length=20, choices=Source.choices)
    # Who sent it; empty for captures that belong to no organisation (``manage.py scan``). Captures are
    # one per organisation: finding another's item for the same bytes would tell that it was sent, when.
    organization = models.ForeignKey(
        "casework.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="media_items",
        db_index=True,
    )
    source_url = models.URLField(max_length=2000, blank=True, help_text="Where the file itself was fetched from.")
    page_url = models.URLField(max_length=2000, blank=True, help_text="The page the file was found on, if any.")
    # Evidence of capture for fetched media: what the server said, and when.
    http_status = models.IntegerField(null=True, blank=True)
    http_headers = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, help_text="Sniffed from the bytes, not the header.")
    original_name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="media_items/", blank=True)
    sha256 = models.CharField(max_length=64, db_index=True, blank=True)  # blank until a submitted URL is fetched
    md5 = models.CharField(max_length=32)
    size = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.UNKNOWN)
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    pdq = models.CharField(max_length=64, blank=True)
    pdq_quality = models.IntegerField(null=True, blank=True)
    phash = models.CharField(max_length=16, blank=True)
    frame_pdq = models.JSONField(default=list, blank=True, help_text="Videos: [{t, pdq, quality}] of sampled frames.")
    faces = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    failure_reason = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The scan's bookkeeping (services.media_scan): when it was last queued again and claimed by a worker,
    # and how many claims there were. A claim older than the hard time limit is a worker that died; the
    # sweeper re-queues the item (services.media_scans_requeue_stuck) until SCAN_MAX_ATTEMPTS claims.
    scan_queued_at = models.DateTimeField(null=True, blank=True)
    scan_started_at = models.DateTimeField(null=True, blank=True)
    scan_attempts = models.PositiveSmallIntegerField(default=0)
    # A submitted URL's item: the captures its fetch gave (itself, for an image or a video it became).
    found_media_items = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="found_by")

    class Meta:
        # The same bytes seen at the same place are one capture of an organisation; another URL is new
        # evidence. A URL not fetched yet has no bytes (sha256 "") and is no capture.
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sha256", "source_url"], condition=~models.Q(sha256=""),
                name="one_media_item_per_capture_and_organization",
            ),
            # NULLs differ in a unique index, so captures of no organisation need their own.
            models.UniqueConstraint(
                fields=["sha256", "source_url"], condition=models.Q(organization__isnull=True) & ~models.Q(sha256=""),
                name="one_media_item_per_capture_without_organization",
            ),
        ]

    def __str__(self) -> str:
        return f"Media item {self.pk} ({self.original_name or self.source_url or self.sha256[:12]})"


class Finding(models.Model):
    """A possible match for a person to review. Never an accusation on its own."""

    class Kind(models.TextChoices):
        LIKENESS = "likeness", _("Face likeness")
        HASH = "hash", _("Known-image hash")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("finding status", "Waiting for review")
        CONFIRMED = "confirmed", pgettext_lazy("finding status", "Confirmed")
        REJECTED = "rejected", pgettext_lazy("finding status", "Rejected")

    media_item = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="findings")
    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="findings")
    # The subject's organisation, copied when the finding is written (a subject never changes organisation),
    # so an organisation's review queue reads its own rows from an index instead of joining every subject.
    organization = models.ForeignKey("casework.Organization", on_delete=models.PROTECT, related_name="findings")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    distance = models.FloatField()
    threshold = models.FloatField()
    model_version = models.CharField(max_length=200)
    face_box = models.JSONField(null=True, blank=True)
    # The closest reference template, for the reviewer's side-by-side crop. Not a foreign key: templates
    # are deleted when consent is withdrawn, and the finding (if confirmed) outlives them.
    template_id = models.BigIntegerField(null=True, blank=True)
    references_agreeing = models.IntegerField(default=1)
    references_total = models.IntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Scanning the same media item twice must not add a second finding.
            models.UniqueConstraint(fields=["media_item", "subject", "kind"], name="one_finding_per_media_subject_kind")
        ]
        # The review queue and the desk's count: one organisation's findings waiting for review.
        indexes = [models.Index(fields=["organization", "status", "created_at"], name="finding_org_status_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} finding {self.pk}"


class FindingSuppression(models.Model):
    """A file a reviewer said does not show the subject: the finding writer never raises it again for them.

    Keyed by the file's SHA-256, not the media item, so the same bytes found at another URL stay quiet too.
    """

    sha256 = models.CharField(max_length=64)
    subject = models.ForeignKey("casework.Subject", on_delete=models.CASCADE, related_name="finding_suppressions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sha256", "subject"], name="one_suppression_per_file_and_subject")
        ]


class IndicatorResult(models.Model):
    """One fake indicator measured on a media item: what it saw, how strong, and what it means."""

    media_item = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="indicators")
    name = models.CharField(max_length=80)
    version = models.CharField(max_length=20)
    score = models.FloatField(null=True, blank=True, help_text="In [0, 1]; empty means not applicable.")
    value = models.JSONField(null=True, blank=True, help_text="What was measured; empty when not applicable.")
    evidence = models.JSONField(default=dict)
    meaning = models.TextField()
    weaknesses = models.TextField(blank=True)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["media_item", "name", "version"], name="one_result_per_indicator_version")
        ]


class MatchIndexState(models.Model):
    """One row whose ``generation`` is bumped in the same transaction as any change to templates or
    known-image hashes, so a worker can tell that its in-memory index is stale without reloading it."""

    generation = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)


# Crawling (issue 12). A watch is an organisation's standing order to look at some sites; each of its
# runs has a frontier of pages persisted here, so a crawl survives its workers (detection.crawling).


class Watch(models.Model):
    """Sites or sections an organisation monitors: where to start, where to stay, how deep, how fast."""

    organization = models.ForeignKey("casework.Organization", on_delete=models.CASCADE, related_name="watches")
    name = models.CharField(max_length=200)
    start_urls = models.JSONField(default=list, help_text="Absolute http(s) URLs the crawl starts from.")
    patterns = models.JSONField(
        default=list, blank=True,
        help_text="Glob patterns of URLs to stay within, e.g. https://example.org/forum/*; "
        "empty means the start URLs' hosts.",
    )
    max_depth = models.PositiveSmallIntegerField(default=4)
    max_pages = models.PositiveIntegerField(default=500)
    schedule_minutes = models.PositiveIntegerField(default=0, help_text="Minutes between runs; 0 means manual only.")
    per_host_rate = models.FloatField(default=1.0, help_text="Requests per second to one host, across all workers.")
    respect_robots = models.BooleanField(default=True)
    # Turning robots.txt off is a legal decision, recorded with who took it and why.
    robots_override_reason = models.TextField(blank=True)
    robots_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CrawlRun(models.Model):
    """One crawl: of a watch (scheduled or "crawl now") or of the CLI's URLs (no watch).

    The watch's settings are copied at the start, so editing a watch never changes a run under way.
    Counters are bumped with F() by concurrent workers; read them as a progress view, not as accounts.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("crawl run status", "Queued")
        RUNNING = "running", pgettext_lazy("crawl run status", "Running")
        DONE = "done", pgettext_lazy("crawl run status", "Done")
        FAILED = "failed", pgettext_lazy("crawl run status", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("crawl run status", "Cancelled")

    watch = models.ForeignKey(Watch, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    organization = models.ForeignKey(
        "casework.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="crawl_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    start_urls = models.JSONField(default=list)
    patterns = models.JSONField(default=list, blank=True)
    max_depth = models.PositiveSmallIntegerField(default=4)
    max_pages = models.PositiveIntegerField(default=500)
    per_host_rate = models.FloatField(default=1.0)
    respect_robots = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Frontier rows of pages and sitemaps taken from the budget (max_pages), reserved with a conditional
    # update so concurrent workers never queue more than the budget.
    pages_queued = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    media_found = models.PositiveIntegerField(default=0)
    media_scanned = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["watch", "created_at"], name="crawl_run_watch_created")]

    def __str__(self) -> str:
        return f"Crawl run {self.pk}"


class CrawlPage(models.Model):
    """One URL of a run's frontier: a page, a sitemap, a robots.txt or a media file to fetch.

    A worker claims a queued row with a conditional update (queued -> fetching, claimed_at); a claim
    older than CRAWL_CLAIM_STALE_S is a worker that died, and the sweeper puts the row back in the queue.
    """

    class Kind(models.TextChoices):
        PAGE = "page", pgettext_lazy("kind of crawled address", "Page")
        SITEMAP = "sitemap", pgettext_lazy("kind of crawled address", "Sitemap")
        ROBOTS = "robots", "robots.txt"
        MEDIA = "media", pgettext_lazy("kind of crawled address", "Media")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("crawled address status", "Queued")
        FETCHING = "fetching", pgettext_lazy("crawled address status", "Fetching")
        DONE = "done", pgettext_lazy("crawled address status", "Done")
        FAILED = "failed", pgettext_lazy("crawled address status", "Failed")
        SKIPPED = "skipped", pgettext_lazy("crawled address status", "Skipped")

    run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="pages")
    url = models.URLField(max_length=2000)  # normalised (detection.engine.crawl.url_normalize)
    depth = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAGE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it failed or was skipped.")
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    http_status = models.IntegerField(null=True, blank=True)
    discovered_from = models.URLField(max_length=2000, blank=True)
    # What the page linked to, kept so a later run's 304 (not modified) can follow the same links.
    links = models.JSONField(default=dict, blank=True)
    # A media row's capture, so a later run's 304 records the sighting without fetching the bytes.
    media_item = models.ForeignKey(MediaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "url"], name="one_crawl_page_per_run_and_url")]
        indexes = [
            models.Index(fields=["run", "status"], name="crawl_page_run_status"),
            # The sweeper's scan for stale claims, and a later run's look-up of the same URL.
            models.Index(fields=["status", "claimed_at"], name="crawl_page_status_claimed"),
            models.Index(fields=["url"], name="crawl_page_url"),
        ]

    def __str__(self) -> str:
        return self.url


class MediaSighting(models.Model):
    """A media item seen on a page by a crawl. The same bytes found again elsewhere are not scanned again:
    the new place is recorded here, and a finding says which watch and page found it through these rows."""

    media_item = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="sightings")
    run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="sightings")
    page_url = models.URLField(max_length=2000, blank=True)
    media_url = models.URLField(max_length=2000)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["media_item", "run", "page_url", "media_url"], name="one_sighting_per_run_page_and_url"
            )
        ]
