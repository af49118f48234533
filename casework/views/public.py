"""The public report form and its status page: no account, often a phone, often someone in distress.

Two steps. The first takes the answers (no file); they wait in the session, which holds text only.
The second shows them back and takes the optional file together with the confirmation, so no
imagery reaches the server before the reporter has confirmed, and none is held between requests.
Nothing the reporter sent is ever shown back as an image.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.validators import URLValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from casework import access, selectors
from casework.models import ReporterRole
from casework.ratelimit import public_post_limited
from casework.services import reports
from casework.services.known_hashes import KnownHashError
from casework.services.minors import TAKE_IT_DOWN_URL, MinorImageryRefused

DRAFT_SESSION_KEY = "casework.public_report_draft"
URL_NOT_VALID = _("“{url}” is not a web address. Copy it from your browser's address bar (it starts with https://).")
SUBMITTED_ALREADY = _(
    "This report was already sent, or the page was open too long. Your answers are not kept; please start again."
)
INFORMATION_ADDED = _("Thank you. We added this to your report.")
REPORT_LEFT = _("You have left your report. Use your reference and PIN to come back.")
MINOR_YES, MINOR_NO, MINOR_UNSURE = "yes", "no", "unsure"
_MINOR_VALUES = {MINOR_YES: True, MINOR_NO: False, MINOR_UNSURE: None}


def _urls_parse(text: str) -> list[str]:
    """One address per line; "example.com/x" gets https:// so people need not type it."""
    urls, check = [], URLValidator(schemes=["http", "https"])
    for line in text.splitlines():
        url = line.strip()
        if not url:
            continue
        if "://" not in url:
            url = "https://" + url
        try:
            check(url)
        except forms.ValidationError:
            raise forms.ValidationError(URL_NOT_VALID.format(url=line.strip()[:200])) from None
        urls.append(url)
    return list(dict.fromkeys(urls))


class ReportForm(forms.Form):
    reporter_role = forms.ChoiceField(
        label=_("Who are you?"),
        widget=forms.RadioSelect,
        choices=[
            (ReporterRole.DEPICTED, _("I am the person in the images")),
            (ReporterRole.REPRESENTATIVE,
             _("I act for the person in the images (for example a parent, lawyer or support worker)")),
            (ReporterRole.BYSTANDER, _("Someone else: I came across it")),
        ],
    )
    under_18 = forms.ChoiceField(
        label=_("Was the person depicted under 18 in this imagery?"),
        help_text=_("Their age when the pictures or videos were made (or faked), not their age now."),
        widget=forms.RadioSelect,
        choices=[(MINOR_YES, _("Yes")), (MINOR_NO, _("No")), (MINOR_UNSURE, _("I don't know"))],
    )
    urls = forms.CharField(
        label=_("Where is it online?"),
        help_text=_("Web addresses, one per line. Leave empty if you don't know."),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "inputmode": "url", "autocapitalize": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        label=_("Anything else we should know (optional)"),
        help_text=_("For example the name of the account that posted it. Only caseworkers read this."),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_email = forms.EmailField(
        label=_("Your e-mail (optional)"),
        help_text=_("Only used to contact you about this report. Without it, check the status with your reference "
                    "and PIN."),
        required=False,
    )

    def clean_urls(self) -> list[str]:
        urls = _urls_parse(self.cleaned_data["urls"])
        if len(urls) > reports.MAX_URLS:
            raise forms.ValidationError(reports.TOO_MANY_URLS.format(max=reports.MAX_URLS))
        return urls


class ReportFileForm(forms.Form):
    file = forms.FileField(
        label=_("Add a picture or video (optional)"),
        help_text=_("Only if you already have it. It is sent when you press “Send report”, and you will not see it "
                    "again here."),
        required=False,
    )
    known_hashes = forms.CharField(
        label=_("Hashes of the images (optional)"),
        help_text=_("Lines of letters and numbers, made from your images on your device. Never the images."),
        required=False,
        max_length=1_000_000,  # a video's frame hashes are one long line (KnownHashesForm)
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off", "autocapitalize": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pdq_min_quality = settings.PDQ_MIN_QUALITY  # the browser hasher leaves out what scans ignore
        self.video_max_seconds = settings.MEDIA_MAX_DURATION_S


class StatusForm(forms.Form):
    reference = forms.CharField(label=_("Report reference"), max_length=20,
                                widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}))
    pin = forms.CharField(label=_("PIN"), max_length=20,
                          widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))


class AddInformationForm(forms.Form):
    urls = forms.CharField(label=_("More web addresses, one per line"), required=False, max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 3, "inputmode": "url", "autocapitalize": "off"}))
    note = forms.CharField(label=_("A note for the caseworker"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def clean_urls(self) -> list[str]:
        return _urls_parse(self.cleaned_data["urls"])


def _help_links() -> dict:
    return {"take_it_down_url": TAKE_IT_DOWN_URL, "iwf_url": reports.IWF_REPORT_URL}


def _private(response):
    # Answers, references and PINs: nothing of these pages may be kept by a shared browser or proxy.
    response["Cache-Control"] = "private, no-store"
    return response


@access.public
@never_cache
@require_http_methods(["GET", "POST"])
@public_post_limited("report")
def report_start(request):
    organization = reports.public_reports_organization()
    if organization is None:
        return _private(render(request, "public/report_form.html", {"not_configured": reports.NOT_CONFIGURED}))
    draft = request.session.get(DRAFT_SESSION_KEY)
    form = ReportForm(request.POST if request.method == "POST" else None, initial=draft["form"] if draft and request.method == "GET" else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        answers = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
        request.session[DRAFT_SESSION_KEY] = {"form": answers, "data": data}
        return redirect("casework:public_report_review")
    return _private(render(request, "public/report_form.html", {"form": form, "organization": organization}))


@access.public
@never_cache
@require_http_methods(["GET", "POST"])
@public_post_limited("report")
def report_review(request):
    organization = reports.public_reports_organization()
    draft = request.session.get(DRAFT_SESSION_KEY)
    if organization is None or draft is None:
        messages.error(request, SUBMITTED_ALREADY if organization else reports.NOT_CONFIGURED)
        return redirect("casework:public_report")
    data = draft["data"]
    depicts_minor = _MINOR_VALUES[data["under_18"]]
    # "I don't know" is treated like "yes" for imagery: see casework.services.reports.
    takes_file = depicts_minor is False
    file_form = ReportFileForm(request.POST if request.method == "POST" else None, request.FILES or None)
    context = {
        "data": data, "role": ReporterRole(data["reporter_role"]).label, "depicts_minor": depicts_minor,
        "takes_file": takes_file, "file_form": file_form, "organization": organization, **_help_links(),
    }
    if request.method == "GET" or not file_form.is_valid():
        return _private(render(request, "public/report_review.html", context))
    upload = file_form.cleaned_data["file"] if takes_file else None
    known_hashes = file_form.cleaned_data["known_hashes"] if takes_file else ""
    # A file (or hash lines) sent on the minors path (the page offers neither) is dropped: Django's upload
    # handler deletes its temporary copy when this request ends, nothing stores it, and the reporter is told.
    discarded = (upload is None and bool(request.FILES)) or (not takes_file and bool(request.POST.get("known_hashes", "").strip()))
    try:
        receipt = reports.report_submit(
            organization=organization,
            reporter_role=data["reporter_role"],
            urls=data["urls"],
            depicts_minor=depicts_minor,
            description=data["description"],
            contact_email=data["contact_email"],
            upload=(upload.name, upload.read()) if upload else None,
            known_hashes=known_hashes,
        )
    except (reports.ReportError, MinorImageryRefused, KnownHashError) as exc:
        context["error"] = exc.reason
        return _private(render(request, "public/report_review.html", context, status=400))
    del request.session[DRAFT_SESSION_KEY]
    # Rendered, not redirected: the PIN then exists only in this one response, never in the session.
    context = {"report": receipt.report, "pin": receipt.pin, "depicts_minor": depicts_minor,
               "discarded": discarded, "minor_upload_refused": reports.MINOR_UPLOAD_REFUSED, **_help_links()}
    return _private(render(request, "public/report_done.html", context))


@access.public
@never_cache
@require_http_methods(["GET", "POST"])
@public_post_limited("report-status")
def report_status(request):
    report = None
    if access.REPORTER_SESSION_KEY in request.session:
        try:
            report = access.report_get_for_reporter(request.session)
        except Http404:  # the report was deleted: ask for the reference again
            request.session.pop(access.REPORTER_SESSION_KEY, None)
    form = StatusForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            report = reports.report_unlock(reference=form.cleaned_data["reference"], pin=form.cleaned_data["pin"])
        except reports.ReportError as exc:
            error = exc.reason
        else:
            request.session.cycle_key()  # a new session id once the PIN is proved
            request.session[access.REPORTER_SESSION_KEY] = report.pk
            return redirect("casework:public_report_status")
    if report is None:
        return _private(render(request, "public/report_status.html", {"form": form, "error": error},
                               status=400 if error else 200))
    context = {"report": report, "lines": selectors.report_status_in_words(report), "add_form": AddInformationForm(),
               **_help_links()}
    return _private(render(request, "public/report_status.html", context))


@access.public
@require_POST
def report_add(request):
    report = access.report_get_for_reporter(request.session)
    form = AddInformationForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("casework:public_report_status")
    try:
        reports.report_information_add(report=report, urls=form.cleaned_data["urls"], note=form.cleaned_data["note"])
    except reports.ReportError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, INFORMATION_ADDED)
    return redirect("casework:public_report_status")


@access.public
@require_POST
def report_leave(request):
    request.session.pop(access.REPORTER_SESSION_KEY, None)
    messages.success(request, REPORT_LEFT)
    return redirect("casework:public_report_status")
