"""Admin for platform operators (superusers). Writes go through services so they are audited."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import URLField
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from casework import models
from casework.forms import ENROLLED, EnrolSubjectForm
from casework.selectors import host_normalize
from detection.admin import ReadOnlyAdmin

HOST_NOT_A_DOMAIN = _("Enter a host name such as example.com; it covers its sub-domains too.")


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["organization", "role"]


class ConsentTextForm(forms.ModelForm):
    # One of the languages Reclaim is offered in: the receipt is written in it (casework.services.receipts).
    language = forms.ChoiceField(choices=lambda: settings.LANGUAGES, label=_("Language"))

    class Meta:
        model = models.ConsentText
        fields = ["version", "language", "title", "body", "purposes"]


@admin.register(models.ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    form = ConsentTextForm
    list_display = ["version", "language", "title", "published_at"]
    list_filter = ["language"]

    def has_change_permission(self, request, obj=None):
        # A consent records the exact wording it was given under: used versions are frozen.
        if obj is not None and obj.consents.exists():
            return False
        return super().has_change_permission(request, obj)


@admin.register(models.Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "organization", "created_at"]
    change_list_template = "admin/casework/subject/change_list.html"

    def get_urls(self):
        return [path("enrol/", self.admin_site.admin_view(self.enrol_view), name="casework_subject_enrol")] + super().get_urls()

    def enrol_view(self, request):
        form = EnrolSubjectForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid() and (subject := form.enroll(by=request.user)):
            messages.success(request, ENROLLED.format(subject=subject))
            return redirect(reverse("admin:casework_subject_change", args=[subject.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "title": gettext("Enrol a subject"),
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/casework/subject/enrol.html", context)


class PlatformHostForm(forms.ModelForm):
    class Meta:
        model = models.PlatformHost
        fields = ["host"]

    def clean_host(self):
        host = host_normalize(self.cleaned_data["host"])
        # One label ("com", "uk") would claim every site under a top-level domain.
        if "." not in host or not all(host.split(".")):
            raise forms.ValidationError(HOST_NOT_A_DOMAIN)
        return host


class PlatformHostInline(admin.TabularInline):
    model = models.PlatformHost
    form = PlatformHostForm
    extra = 1


@admin.register(models.Platform)
class PlatformAdmin(admin.ModelAdmin):
    """The platform directory is reference data, like consent texts: edited here, not by casework."""

    list_display = ["name", "host_names", "abuse_email", "dmca_agent_email", "dsa_contact_email", "web_form_url"]
    search_fields = ["name", "hosts__host"]
    inlines = [PlatformHostInline]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}

    @admin.display(description=_("Host names"))
    def host_names(self, obj):
        return ", ".join(h.host for h in obj.hosts.all())


for model in (models.Consent, models.Report, models.Case, models.TakedownRequest, models.Notice, models.AuditEvent,
              models.CaseNote, models.RecheckResult):
    admin.site.register(model, ReadOnlyAdmin)


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token` (the token is shown once); here they are revoked."""

    list_display = ["name", "organization", "prefix", "created_at", "last_used_at", "revoked"]
    list_filter = ["organization", "revoked"]
    readonly_fields = ["organization", "name", "user", "secret_sha256", "prefix", "created_at", "last_used_at",
                       "revoked", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        from casework.services.api_tokens import api_token_revoke

        for token in queryset:
            api_token_revoke(token=token, by=request.user)
        count = queryset.count()
        revoked = ngettext("{count} token revoked.", "{count} tokens revoked.", count).format(count=count)
        self.message_user(request, revoked, messages.SUCCESS)


class WebhookDeliveryInline(admin.TabularInline):
    model = models.WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["event", "attempts", "last_status", "last_error", "next_attempt_at", "delivered_at", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "active", "created_at"]
    list_filter = ["organization", "active"]
    readonly_fields = ["secret", "created_at"]
    inlines = [WebhookDeliveryInline]

    def save_model(self, request, obj, form, change):
        if change:  # url and active only; the secret stays
            super().save_model(request, obj, form, change)
            return
        from casework.services.webhooks import webhook_create

        created = webhook_create(organization=obj.organization, url=obj.url, by=request.user)
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
