"""People and decisions: organisations, staff, subjects, consent, reports, cases, takedowns, notices,
and the audit log. Every write goes through ``casework.services``."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Organization(models.Model):
    """A victim-support organisation, a legal practice, or a partner that files reports."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    LEGAL = "legal", _("Legal staff")
    ADMIN = "admin", _("Organisation admin")


class Membership(models.Model):
    """A staff user's role in one organisation. A user sees only their organisations' data."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class Subject(models.Model):
    """A person whose likeness Reclaim looks for, with their consent. Names may be pseudonyms."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="subjects")
    display_name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the subject was told that their biometric data will be deleted for inactivity; the purge
    # waits RETENTION_NOTICE_DAYS after it, and any activity since makes a new notice necessary.
    retention_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The subject's own sign-in to the portal (casework.views.portal), made on their first e-mail link.
    # Such a user has no Membership, so every staff page treats them as an outsider.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="subject"
    )
    # The language the subject reads (a code of settings.LANGUAGES): e-mails to them are written in it.
    # First the consent text's they read, then their choice on the portal's switcher or at sign-in
    # (casework.views.language). Empty: not known, so LANGUAGE_CODE. No choices: adding a language to
    # settings must not need a migration.
    language = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return self.display_name


class ConsentPurpose(models.TextChoices):
    LIKENESS_MATCHING = "likeness_matching", _("Match my face in reported and crawled media")
    HASH_MATCHING = "hash_matching", _("Match hashes of known images of me")
    HASH_SHARING = "hash_sharing", _("Share those hashes with platforms")


class ConsentText(models.Model):
    """One published version of the consent wording, in one language. Never edited once a consent
    points at it. A version exists in several languages (one row each, the same purposes): the person
    consents to the text they read, and their receipt records and follows its language."""

    version = models.CharField(max_length=40)
    language = models.CharField(max_length=10, default="en", help_text="A language code of settings.LANGUAGES.")
    title = models.CharField(max_length=200)
    body = models.TextField()
    purposes = models.JSONField(help_text="The ConsentPurpose values this text asks for.")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="one_consent_text_per_version_language"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version}, {self.language})"


class ConsentMethod(models.TextChoices):
    ONLINE_SIGNATURE = "online_signature", _("Online, e-signed by the subject")
    PAPER_WITNESSED = "paper_witnessed", _("On paper, witnessed by a caseworker")
    REPRESENTATIVE = "representative", _("By an authorised representative")


class Consent(models.Model):
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consents")
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    purposes = models.JSONField()
    method = models.CharField(max_length=30, choices=ConsentMethod.choices)
    signature = models.CharField(max_length=200, help_text="Typed name of the person who signed.")
    authority_document = models.FileField(
        upload_to="consent_authority/",
        blank=True,
        help_text="For consent by a representative: the document that gives them authority to act.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    def __str__(self) -> str:
        state = "active" if self.is_active else "withdrawn"
        return f"Consent of {self.subject} to v{self.text.version} ({state})"


class ReporterRole(models.TextChoices):
    DEPICTED = "depicted", _("The person depicted")
    REPRESENTATIVE = "representative", _("A representative of the person depicted")
    BYSTANDER = "bystander", _("Someone else")


class Report(models.Model):
    """A report from the public. The reporter follows it with the reference and a PIN."""

    class Status(models.TextChoices):
        RECEIVED = "received", pgettext_lazy("report status", "Received")
        IN_REVIEW = "in_review", pgettext_lazy("report status", "Being reviewed")
        CLOSED = "closed", pgettext_lazy("report status", "Closed")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="reports")
    reference = models.CharField(max_length=20, unique=True)
    pin_hash = models.CharField(max_length=200)
    # Wrong PINs in the current hour (casework.services.reports.report_unlock): in the row, so every web
    # worker counts the same attempts and a lock holds whichever worker answers.
    pin_failures = models.PositiveIntegerField(default=0)
    pin_failures_since = models.DateTimeField(null=True, blank=True)
    reporter_role = models.CharField(max_length=20, choices=ReporterRole.choices)
    urls = models.TextField(blank=True)
    description = models.TextField(blank=True)
    contact_email = models.EmailField(blank=True)
    depicts_minor = models.BooleanField(null=True, help_text="Was the person depicted under 18 in the imagery?")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the reporter uploaded, ingested only once they confirmed (casework.services.reports).
    media_items = models.ManyToManyField("detection.MediaItem", blank=True, related_name="reports")
    # Hashes of images the reporter chose but did not send (hashed in their browser), one normalised
    # line each ("pdq:HEX QUALITY" or "phash:HEX"), for the caseworker to register on a subject who consents.
    known_hashes = models.TextField(blank=True)

    class Meta:
        indexes = [
            # /reports/ newest first, and filtered by status (the desk's "new reports"): deep pages read the
            # index in order instead of sorting an organisation's reports.
            models.Index(fields=["organization", "-created_at", "-id"], name="report_org_created"),
            models.Index(fields=["organization", "status", "-created_at", "-id"], name="report_org_status_created"),
        ]


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("case status", "Open")
        CLOSED = "closed", pgettext_lazy("case status", "Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, pgettext_lazy("case priority", "Low")
        NORMAL = 2, pgettext_lazy("case priority", "Normal")
        HIGH = 3, pgettext_lazy("case priority", "High")
        URGENT = 4, pgettext_lazy("case priority", "Urgent")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(max_length=20, unique=True)
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    findings = models.ManyToManyField("detection.Finding", blank=True, related_name="cases")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.IntegerField(choices=Priority.choices, default=Priority.NORMAL)
    media_items = models.ManyToManyField(
        "detection.MediaItem", blank=True, related_name="cases", help_text="Media uploaded to the case by staff."
    )
    # The person depicted is or was under 18 in the imagery: Reclaim keeps no imagery for the case,
    # only its hashes (casework.services.minors).
    depicts_minor = models.BooleanField(default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    # Free labels a team sorts its work by ("school", "sextortion", "celebrity"): lower case, sorted,
    # no duplicates (casework.services.triage.tags_normalize).
    tags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # /cases/ is ordered this way within an organisation: its last page walks the index, not a sort.
        indexes = [models.Index(fields=["organization", "-priority", "-created_at", "-id"],
                                name="case_org_priority_created")]

    def __str__(self) -> str:
        return self.reference


class CaseNote(models.Model):
    """A caseworker's note on a case. Notes are added, never edited: the timeline is a record."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)


class Platform(models.Model):
    """A service that hosts content, with where each kind of request goes. Managed in the admin."""

    name = models.CharField(max_length=200, unique=True)
    abuse_email = models.EmailField(blank=True, help_text="Abuse or trust-and-safety contact.")
    dmca_agent_email = models.EmailField(
        blank=True, help_text="The designated DMCA agent (US Copyright Office directory)."
    )
    dsa_contact_email = models.EmailField(blank=True, help_text="The DSA Art. 12 single point of contact.")
    web_form_url = models.URLField(max_length=2000, blank=True, help_text="The platform's own reporting form.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlatformHost(models.Model):
    """A host name of a platform; it also covers every sub-domain (example.com covers m.example.com)."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="hosts")
    host = models.CharField(max_length=253, unique=True, help_text="e.g. example.com — sub-domains are included.")

    def __str__(self) -> str:
        return self.host


class Regime(models.TextChoices):
    TAKE_IT_DOWN = "take_it_down", _("US TAKE IT DOWN Act")
    DMCA = "dmca", _("DMCA 512(c)(3)")
    DSA = "dsa", _("EU DSA Art. 16")
    GDPR = "gdpr", _("GDPR Art. 17")
    DELISTING = "delisting", _("Search-engine delisting")


class TakedownRequest(models.Model):
    """A request to one platform, under one legal regime, to remove content at one URL."""

    class State(models.TextChoices):
        """Transitions between these are in casework.services.takedowns.TRANSITIONS."""

        DRAFT = "draft", pgettext_lazy("takedown request state", "Draft")
        READY = "ready", pgettext_lazy("takedown request state", "Ready to send")
        SENT = "sent", pgettext_lazy("takedown request state", "Sent")
        ACKNOWLEDGED = "acknowledged", pgettext_lazy("takedown request state", "Acknowledged by the platform")
        REMOVED = "removed", pgettext_lazy("takedown request state", "Removed")
        REFUSED = "refused", pgettext_lazy("takedown request state", "Refused")
        NO_RESPONSE = "no_response", pgettext_lazy("takedown request state", "No response")
        ESCALATED = "escalated", pgettext_lazy("takedown request state", "Escalated")
        REMOVAL_VERIFIED = "removal_verified", pgettext_lazy("takedown request state", "Removal verified")
        CLOSED = "closed", pgettext_lazy("takedown request state", "Closed")
        REOPENED = "reopened", pgettext_lazy("takedown request state", "Re-opened: content returned")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="takedown_requests")
    # The case's organisation, copied when the request is drafted (a case never changes organisation), so
    # the desk and the API list read one organisation's rows from an index instead of joining every case.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="takedown_requests")
    platform = models.CharField(max_length=200, help_text="The platform's name as shown on pages and notices.")
    # The directory entry the request was addressed from, if any; the name above stays as it was sent.
    directory_platform = models.ForeignKey(
        Platform, null=True, blank=True, on_delete=models.SET_NULL, related_name="takedown_requests"
    )
    recipient_email = models.EmailField(blank=True)
    target_url = models.URLField(max_length=2000, blank=True)
    regime = models.CharField(max_length=20, choices=Regime.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the request is sent (casework.deadlines); a GDPR extension moves it later.
    deadline_at = models.DateTimeField(null=True, blank=True)
    deadline_extended_at = models.DateTimeField(null=True, blank=True)
    deadline_extension_reason = models.TextField(blank=True)
    # When the deadline check told the assignee: each is sent once per sending of the request.
    at_risk_notified_at = models.DateTimeField(null=True, blank=True)
    breached_notified_at = models.DateTimeField(null=True, blank=True)
    # Since the request was (last) sent: when the platform first answered (acknowledged, removed or refused:
    # what stops the clock counting as a breach), and when the content was first recorded removed. Kept on
    # the row by takedown_transition, so the metrics aggregate requests without reading their audit events.
    answered_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The desk and /deadlines/: running clocks of one organisation, nearest deadline first.
            models.Index(fields=["organization", "state", "deadline_at"], name="takedown_org_state_deadline"),
            # /api/v1/takedown-requests/ newest first: a deep page reads the index instead of sorting.
            models.Index(fields=["organization", "-created_at", "-id"], name="takedown_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_regime_display()} request to {self.platform}"


class RecheckResult(models.Model):
    """One visit to a takedown request's URL to see whether the content is still there."""

    class Outcome(models.TextChoices):
        REMOVED = "removed", pgettext_lazy("recheck outcome", "Removed")
        STILL_PRESENT = "still_present", pgettext_lazy("recheck outcome", "Still present")
        CHANGED = "changed", pgettext_lazy("recheck outcome", "Changed: the page is there, the content was not found")
        FAILED = "failed", pgettext_lazy("recheck outcome", "Could not be checked")

    request = models.ForeignKey(TakedownRequest, on_delete=models.CASCADE, related_name="rechecks")
    checked_at = models.DateTimeField()
    http_status = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of what the URL served (or the matching media).")
    pdq_distance = models.IntegerField(null=True, blank=True, help_text="Closest PDQ distance to the case's media.")
    detail = models.TextField(blank=True)
    # The transition the recheck made (record_removal, verify_removal, reopen), if any.
    action = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=["request", "-checked_at"])]


class Notice(models.Model):
    """A rendered notice (PDF) for a takedown request, with the elements it was built from."""

    takedown_request = models.ForeignKey(TakedownRequest, on_delete=models.CASCADE, related_name="notices")
    regime = models.CharField(max_length=20, choices=Regime.choices)
    signer_name = models.CharField(max_length=200)
    signer_capacity = models.CharField(max_length=200)
    contact_email = models.EmailField()
    statement = models.TextField()
    pdf = models.FileField(upload_to="notices/")
    pdf_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The regime's own elements as drafted (casework.notices.<regime>), and the copy-ready text of the
    # PDF, both frozen when the notice is generated so that what is sent is what was checked.
    details = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)
    # E-signature: the typed name above, which the signer agreed to use as their signature at signed_at;
    # created_by recorded it. A drawn signature is kept as the PNG data URL the page's canvas made.
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_image = models.TextField(blank=True)
    signer_is_representative = models.BooleanField(default=False)
    authority_consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The consent whose authority document lets the representative act.",
    )
    authority_document_sha256 = models.CharField(max_length=64, blank=True)
    known_copies = models.JSONField(default=list, blank=True, help_text="[{url, sha256}] found by the matcher.")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEB_FORM = "web_form", _("The platform's web form")

    sent_via = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message_id = models.CharField(max_length=255, blank=True)
    submission_reference = models.CharField(
        max_length=500, blank=True, help_text="A web-form submission: where, and the confirmation or ticket number."
    )


class AuditEvent(models.Model):
    """One state change, hash-chained to the one before so an edit, deletion or reorder shows."""

    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=80)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            # /metrics/ asks, per request, for its first event of some actions after it was sent.
            models.Index(fields=["target_type", "target_id", "action", "at"], name="audit_target_action_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """A single row locked while an event is appended, so concurrent writers cannot fork the chain."""

    last_hash = models.CharField(max_length=64)


class ApiToken(models.Model):
    """A partner organisation's key to the API. Only the SHA-256 of the token is kept: it is shown once.

    Each token acts through its own service account (``user``, no password, one membership in
    ``organization``), so role checks and the audit log treat a partner like any other actor.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_token")
    secret_sha256 = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="one_api_token_name_per_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) · {self.organization}"


class MediaSubmission(models.Model):
    """Which organisation submitted a media item (API or staff): what makes it theirs to read."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="media_submissions")
    media_item = models.ForeignKey("detection.MediaItem", on_delete=models.CASCADE, related_name="submissions")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "media_item"], name="one_submission_per_org_and_media")
        ]


class Webhook(models.Model):
    """A partner URL called when a finding of the organisation's subjects is confirmed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    # Kept readable: it signs every delivery (HMAC-SHA256) and the partner verifies with the same value.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.url} · {self.organization}"


class WebhookDelivery(models.Model):
    """One event sent (or still to be sent) to one webhook, with its attempts."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=80)
    payload = models.JSONField()
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.IntegerField(null=True, blank=True, help_text="HTTP status of the last attempt, if any.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["webhook", "-created_at"])]


# The hash feed for platforms (issue 14): StopNCII's hash API, served per organisation
# (casework.api.stopncii), so a platform running HMA or python-threatexchange subscribes without new code.


class FeedPlatform(models.Model):
    """A platform an organisation admits to its hash feed: it fetches the hashes the organisation's subjects
    consented to share, and reports what it did with matches. Its two keys (StopNCII's ``x-functions-key``
    and ``Ocp-Apim-Subscription-Key``) are kept only as SHA-256, like API tokens: shown once, revocable."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="feed_platforms")
    name = models.CharField(_("name"), max_length=100, help_text=_("As the platform is known: shown on cases, the "
                                                                    "desk and to the other platforms in feedback."))
    function_key_sha256 = models.CharField(max_length=64, unique=True)
    subscription_key_sha256 = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=12, help_text="The subscription key's first characters, to recognise it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # A revoked platform keeps its name in the log; the same platform may be admitted again with new keys.
            models.UniqueConstraint(fields=["organization", "name"], condition=models.Q(revoked_at__isnull=True),
                                    name="one_live_feed_platform_name_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.organization}"


class FeedRecord(models.Model):
    """One hash in an organisation's feed, as StopNCII's ``hashRecords`` carry it; a platform replaces what
    it holds for the same signal type and value with the newest record it reads.

    A record outlives its hash: when no case is active any more it stays as a tombstone (Withdrawn or
    Deleted) for HASH_FEED_TOMBSTONE_DAYS, so that platforms read that they must delete it, and is then
    purged with the retention run (casework.services.hash_feed.hash_feed_tombstones_purge)."""

    class SignalType(models.TextChoices):
        IMAGE_PDQ = "ImagePDQ", _("PDQ of an image")
        VIDEO_MD5 = "VideoMD5", _("MD5 of a video")

    class Status(models.TextChoices):
        # StopNCII's spellings (python-threatexchange's StopNCIICaseStatus); a client deletes the last two.
        ACTIVE = "Active", _("Shared")
        WITHDRAWN = "Withdrawn", _("Withdrawn: consent to sharing ended")
        DELETED = "Deleted", _("Deleted: removed by a caseworker or for retention")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="feed_records")
    signal_type = models.CharField(max_length=10, choices=SignalType.choices)
    hash_value = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices)
    # StopNCII's lastModtimestamp (whole seconds there); the feed is read in (modified_at, id) order.
    modified_at = models.DateTimeField()
    # StopNCII's CSPFeedbacks: the latest feedback of each platform, by platform id:
    # {"12": {"source": "ExamplePlatform", "feedbackValue": "Blocked", "tags": ["…"]}}. Kept on the row so
    # that a page of the feed is one read of records and one of their cases, however much feedback there is.
    feedbacks = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "signal_type", "hash_value"],
                                    name="one_feed_record_per_org_and_hash"),
        ]
        indexes = [
            # FetchHashes: one organisation's records changed since a time, in order; a page starts where the
            # last one ended, so every page reads the index from its cursor, never an offset.
            models.Index(fields=["organization", "modified_at", "id"], name="feed_record_org_modified"),
            # The purge of old tombstones.
            models.Index(fields=["status", "modified_at"], name="feed_record_status_modified"),
        ]

    def __str__(self) -> str:
        return f"{self.signal_type} {self.hash_value[:12]}… ({self.status})"


class FeedCase(models.Model):
    """One subject's known hash in the feed: StopNCII's "case". Its number is random and says nothing about
    the subject or Reclaim's case references; the links to the subject and the hash are cleared when it
    leaves the feed, so a tombstone tells nobody whose it was."""

    record = models.ForeignKey(FeedRecord, on_delete=models.CASCADE, related_name="cases")
    number = models.CharField(max_length=36, unique=True)  # a UUID4, as StopNCII's case numbers are
    status = models.CharField(max_length=10, choices=FeedRecord.Status.choices)
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.SET_NULL, related_name="feed_cases")
    known_hash = models.ForeignKey("detection.KnownImageHash", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="feed_cases")
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["known_hash"], condition=models.Q(known_hash__isnull=False),
                                    name="one_feed_case_per_known_hash"),
        ]
        indexes = [models.Index(fields=["subject", "status"], name="feed_case_subject_status")]


class FeedFeedback(models.Model):
    """One feedback a platform sent on a hash of the feed (SubmitFeedback). The record's ``feedbacks`` keeps
    each platform's latest; these rows are the history the case page, the desk and the metrics count."""

    class Value(models.TextChoices):
        BLOCKED = "Blocked", _("Blocked")
        NOT_BLOCKED = "NotBlocked", _("Not blocked")
        PENDING_REVIEW = "PendingReview", _("Pending review")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="feed_feedbacks")
    platform = models.ForeignKey(FeedPlatform, on_delete=models.PROTECT, related_name="feedbacks")
    # Cleared when a tombstone is purged: the count stays in the metrics, the hash goes.
    record = models.ForeignKey(FeedRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    value = models.CharField(max_length=20, choices=Value.choices)
    tags = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "received_at"], name="feed_feedback_org_received"),
            models.Index(fields=["record", "platform"], name="feed_feedback_record_platform"),
        ]
