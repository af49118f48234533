from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from casework.models import (
    Case,
    ConsentMethod,
    ConsentPurpose,
    ConsentText,
    Organization,
    Platform,
    Regime,
    Subject,
)
from casework.services.cases import PLATFORM_NEEDED
from casework.services.consent import ConsentError, subject_enroll
from casework.services.takedowns import ACTIONS
from casework.services.watches import WatchSettings
from detection.services import EnrolmentError

ENROLLED = _("Enrolled {subject} with consent and one reference photo.")


class ConfirmFindingForm(forms.Form):
    directory_platform = forms.ModelChoiceField(
        queryset=Platform.objects.all(), required=False, label=_("Platform from the directory"),
        help_text=_("Chosen from the media's address when the directory knows its host; its contact is used."),
    )
    platform = forms.CharField(
        max_length=200, required=False, label=_("Platform"),
        help_text=_("Where the content is published, e.g. the site's name."),
    )
    target_url = forms.URLField(
        max_length=2000, assume_scheme="https", label=_("URL of the content"),
        help_text=_("The page or file to remove."),
    )
    regime = forms.ChoiceField(choices=Regime.choices, initial=Regime.TAKE_IT_DOWN, label=_("Legal regime"))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("platform", "").strip() and cleaned.get("directory_platform") is None:
            self.add_error("platform", PLATFORM_NEEDED)
        return cleaned


class RejectFindingForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label=_("Reason"))


class NoticeSubmissionForm(forms.Form):
    reference = forms.CharField(
        max_length=500, label=_("Where it was submitted, and the confirmation"),
        help_text=_("e.g. the web form's address and the ticket or confirmation number the platform showed."),
    )


class TakedownTransitionForm(forms.Form):
    action = forms.ChoiceField(choices=list(ACTIONS.items()), label=_("Action"))
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note"),
        help_text=_("What happened: the platform's reply, a ticket number, where it was escalated."),
    )


class DeadlineExtensionForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason the platform gave for the delay")
    )


class CaseTriageForm(forms.Form):
    """Who works the case, how urgent it is, and its tags; each changed field is one service call."""

    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label=_("Assigned to"))
    priority = forms.TypedChoiceField(choices=Case.Priority.choices, coerce=int, label=_("Priority"))
    tags = forms.CharField(max_length=1000, required=False, label=_("Tags"), help_text=_("Separated by commas."))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only members of the case's organisation can be given its cases.
        self.fields["assignee"].queryset = (
            get_user_model().objects.filter(memberships__organization=organization).order_by("username")
        )


class CaseNoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, label=_("Note"))


class CaseStatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("close", _("Close the case")), ("reopen", _("Re-open the case"))],
                               label=_("Action"))
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note"))


class CaseMediaForm(forms.Form):
    file = forms.FileField(label=_("Image or video"))


class EnrolSubjectForm(forms.Form):
    """One subject, their consent, and a reference photo, enrolled in one go (the desk and the admin)."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), label=_("Organization"))
    display_name = forms.CharField(max_length=200, label=_("Display name"), help_text=_("A pseudonym is fine."))
    contact_email = forms.EmailField(required=False, label=_("Contact email"))
    # The text in the language the person read: each language of a version is its own choice.
    consent_text = forms.ModelChoiceField(queryset=ConsentText.objects.order_by("-published_at", "version", "language"),
                                          label=_("Consent text"))
    purposes = forms.MultipleChoiceField(
        choices=ConsentPurpose.choices, initial=[ConsentPurpose.LIKENESS_MATCHING], widget=forms.CheckboxSelectMultiple,
        label=_("Purposes"),
    )
    method = forms.ChoiceField(choices=ConsentMethod.choices, label=_("Method"))
    signature = forms.CharField(max_length=200, label=_("Signature"),
                                help_text=_("The typed name of the person who consented."))
    authority_document = forms.FileField(
        required=False, label=_("Authority document"),
        help_text=_("Required when a representative consents: their power of attorney, court order…"),
    )
    photo = forms.ImageField(label=_("Photo"), help_text=_("A photo showing only the subject's face."))

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:  # the desk: only the organisations the caseworker enrols for
            self.fields["organization"].queryset = organizations
            if len(organizations) == 1:
                self.fields["organization"].initial = organizations[0]

    def enroll(self, *, by) -> Subject | None:
        """Enrol from a valid form: the subject, or None with the reason (no face, a missing authority
        document...) added to the form's errors."""
        data = self.cleaned_data
        photo = data["photo"]
        try:
            return subject_enroll(
                organization=data["organization"], display_name=data["display_name"],
                contact_email=data["contact_email"], text=data["consent_text"], purposes=data["purposes"],
                method=data["method"], signature=data["signature"], authority_document=data["authority_document"],
                photos=[(photo.name, photo.read())], by=by,
            )
        except (ConsentError, EnrolmentError) as exc:
            self.add_error(None, exc.reason)
            return None


class PhotoForm(forms.Form):
    photo = forms.ImageField(label=_("A clear photo of your face, alone in the picture"))


class KnownHashesForm(forms.Form):
    hashes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        # A video's frame hashes are one line of about 75 characters a sampled frame: an hour is 550 kB.
        label=_("Hashes of known images, one per line"), max_length=1_000_000,
        help_text=_("Made where the images are, with python -m detection.engine.hash_files IMAGE...: "
                    "paste its lines, never the images."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser hasher leaves out images whose PDQ quality scans would ignore.
        self.pdq_min_quality = settings.PDQ_MIN_QUALITY
        self.video_max_seconds = settings.MEDIA_MAX_DURATION_S  # and the frames of videos scans would refuse


class WithdrawalOnBehalfForm(forms.Form):
    how = forms.CharField(max_length=2000, label=_("How the subject asked, and their reason if they gave one"),
                          widget=forms.Textarea(attrs={"rows": 2}),
                          help_text=_("For example: phone call on the number in the file. Kept with the withdrawal."))


class CodesResetForm(forms.Form):
    reason = forms.CharField(max_length=500, label=_("How you checked it is them, and why"),
                             help_text=_("Kept in the audit trail."))


START_URLS_NEEDED = _("Give at least one start address, one per line.")
NOT_A_WEB_ADDRESS = _("{line} is not a web address (http:// or https://).")
NOT_A_WEB_PATTERN = _("{line} is not a pattern of web addresses: start it with http:// or https://.")
TOO_MANY_LINES = _("At most {count} lines.")
MAX_LINES = 100


def _web_lines(text: str, *, message: str, validate) -> list[str]:
    """The non-blank lines of ``text``, each checked by ``validate``; duplicates dropped, order kept."""
    lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(TOO_MANY_LINES.format(count=MAX_LINES))
    for line in lines:
        if not validate(line):
            raise forms.ValidationError(message.format(line=line))
    return lines


def _is_web_address(line: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(line)
    except forms.ValidationError:
        return False
    return True


class WatchForm(forms.Form):
    """A watch's settings (casework.services.watches.WatchSettings); robots.txt is RobotsForm's."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=_("Organization"))
    name = forms.CharField(max_length=200, label=_("Name"),
                           help_text=_("e.g. the site's name and the section watched."))
    start_urls = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}), label=_("Start addresses"),
        help_text=_("One per line: the pages the crawl begins with."), max_length=50_000,
        error_messages={"required": START_URLS_NEEDED},
    )
    patterns = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}), required=False, max_length=50_000,
        label=_("Stay within"),
        help_text=_("Optional, one per line, * for any text: https://example.org/forum/* . "
                    "Empty: anything on the start addresses' sites."),
    )
    max_depth = forms.IntegerField(min_value=0, max_value=20, initial=4, label=_("Links deep"),
                                   help_text=_("0 reads only the start addresses."))
    max_pages = forms.IntegerField(min_value=1, max_value=100_000, initial=500, label=_("Pages per run at most"))
    schedule_minutes = forms.IntegerField(
        min_value=0, max_value=60 * 24 * 365, initial=0, label=_("Run every (minutes)"),
        help_text=_("0: only when someone presses Crawl now. 1440 is daily."),
    )
    per_host_rate = forms.FloatField(
        min_value=0.01, max_value=20, initial=1.0, label=_("Requests per second to one site"),
        help_text=_("Across all workers. Keep it low: a site that notices a crawler may block it or hide content."),
    )

    def __init__(self, *args, organizations, watch=None, **kwargs):
        if watch is not None:  # editing: the watch's organisation stays
            kwargs.setdefault("initial", {}).update({
                "name": watch.name, "start_urls": "\n".join(watch.start_urls),
                "patterns": "\n".join(watch.patterns), "max_depth": watch.max_depth, "max_pages": watch.max_pages,
                "schedule_minutes": watch.schedule_minutes, "per_host_rate": watch.per_host_rate,
            })
        super().__init__(*args, **kwargs)
        if watch is not None:
            del self.fields["organization"]
        else:
            self.fields["organization"].queryset = organizations
            if len(organizations) == 1:
                self.fields["organization"].initial = organizations[0]

    def clean_start_urls(self) -> list[str]:
        lines = _web_lines(self.cleaned_data["start_urls"], message=NOT_A_WEB_ADDRESS, validate=_is_web_address)
        if not lines:
            raise forms.ValidationError(START_URLS_NEEDED)
        return lines

    def clean_patterns(self) -> list[str]:
        return _web_lines(self.cleaned_data["patterns"], message=NOT_A_WEB_PATTERN,
                          validate=lambda line: line.lower().startswith(("http://", "https://")) and " " not in line)

    def settings(self) -> WatchSettings:
        data = self.cleaned_data
        return WatchSettings(**{name: data[name] for name in (
            "name", "start_urls", "patterns", "max_depth", "max_pages", "schedule_minutes", "per_host_rate")})


class RobotsForm(forms.Form):
    respect_robots = forms.TypedChoiceField(
        choices=[("1", _("Obey robots.txt")), ("0", _("Ignore robots.txt for this watch"))],
        coerce=lambda value: value == "1", widget=forms.RadioSelect, label="robots.txt",
    )
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why (required to ignore it)"), help_text=_("Kept in the audit trail with your name."),
    )


class FeedPlatformAdmitForm(forms.Form):
    """An organisation admin admits a platform to the organisation's hash feed (casework.views.feed_platforms)."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=_("Organisation"))
    name = forms.CharField(max_length=100, label=_("Platform"),
                           help_text=_("As the platform is known, e.g. “ExamplePlatform”: shown on cases, the desk "
                                       "and the metrics when it reports what it did with a match."))

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
