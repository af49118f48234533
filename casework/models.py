"""People and decisions: organisations, staff, subjects, consent, reports, cases, takedowns, notices,
and the audit log. Every write goes through ``casework.services``."""

from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A victim-support organisation, a legal practice, or a partner that files reports."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CASEWORKER = "caseworker", "Caseworker"
    LEGAL = "legal", "Legal staff"
    ADMIN = "admin", "Organisation admin"


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

    def __str__(self) -> str:
        return self.display_name


class ConsentPurpose(models.TextChoices):
    LIKENESS_MATCHING = "likeness_matching", "Match my face in reported and crawled media"
    HASH_MATCHING = "hash_matching", "Match hashes of known images of me"
    HASH_SHARING = "hash_sharing", "Share those hashes with platforms"


class ConsentText(models.Model):
    """One published version of the consent wording. Never edited once a consent points at it."""

    version = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    purposes = models.JSONField(help_text="The ConsentPurpose values this text asks for.")
    published_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class ConsentMethod(models.TextChoices):
    ONLINE_SIGNATURE = "online_signature", "Online, e-signed by the subject"
    PAPER_WITNESSED = "paper_witnessed", "On paper, witnessed by a caseworker"
    REPRESENTATIVE = "representative", "By an authorised representative"


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
    DEPICTED = "depicted", "The person depicted"
    REPRESENTATIVE = "representative", "A representative of the person depicted"
    BYSTANDER = "bystander", "Someone else"


class Report(models.Model):
    """A report from the public. The reporter follows it with the reference and a PIN."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IN_REVIEW = "in_review", "Being reviewed"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="reports")
    reference = models.CharField(max_length=20, unique=True)
    pin_hash = models.CharField(max_length=200)
    reporter_role = models.CharField(max_length=20, choices=ReporterRole.choices)
    urls = models.TextField(blank=True)
    description = models.TextField(blank=True)
    contact_email = models.EmailField(blank=True)
    depicts_minor = models.BooleanField(null=True, help_text="Was the person depicted under 18 in the imagery?")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    created_at = models.DateTimeField(auto_now_add=True)


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class Regime(models.TextChoices):
    TAKE_IT_DOWN = "take_it_down", "US TAKE IT DOWN Act"
    DMCA = "dmca", "DMCA 512(c)(3)"
    DSA = "dsa", "EU DSA Art. 16"
    GDPR = "gdpr", "GDPR Art. 17"
    DELISTING = "delisting", "Search-engine delisting"


class TakedownRequest(models.Model):
    """A request to one platform, under one legal regime, to remove content at one URL."""

    class State(models.TextChoices):
        """Transitions between these are in casework.services.takedowns.TRANSITIONS."""

        DRAFT = "draft", "Draft"
        READY = "ready", "Ready to send"
        SENT = "sent", "Sent"
        ACKNOWLEDGED = "acknowledged", "Acknowledged by the platform"
        REMOVED = "removed", "Removed"
        REFUSED = "refused", "Refused"
        NO_RESPONSE = "no_response", "No response"
        ESCALATED = "escalated", "Escalated"
        REMOVAL_VERIFIED = "removal_verified", "Removal verified"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Re-opened: content returned"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="takedown_requests")
    platform = models.CharField(max_length=200)
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

    def __str__(self) -> str:
        return f"{self.get_regime_display()} request to {self.platform}"


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
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """A single row locked while an event is appended, so concurrent writers cannot fork the chain."""

    last_hash = models.CharField(max_length=64)
