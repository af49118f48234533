from django.contrib import admin

from detection import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows changed only through services (which audit and re-check consent), viewed here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.MediaItem)
class MediaItemAdmin(ReadOnlyAdmin):
    list_display = ["pk", "source", "original_name", "status", "received_at"]
    list_filter = ["status", "source", "kind"]
    exclude = ["faces"]


@admin.register(models.Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "subject", "distance", "status", "created_at"]
    list_filter = ["status", "kind"]


@admin.register(models.IndicatorResult)
class IndicatorResultAdmin(ReadOnlyAdmin):
    list_display = ["media_item", "name", "version", "score"]


@admin.register(models.FindingSuppression)
class FindingSuppressionAdmin(ReadOnlyAdmin):
    """The ignore list: files a reviewer rejected for a subject (written by casework's finding_reject)."""

    list_display = ["sha256", "subject", "created_at"]
