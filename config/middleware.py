"""Response headers every page gets."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Send ``CONTENT_SECURITY_POLICY`` (settings) on every response that has none of its own.

    The policy allows no inline script or style: an injected ``<script>`` or ``onclick=`` in a
    reported URL or a partner's text then does nothing. Scripts and styles live in static files.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def refusal_response(request, *, status: int, message: str, template: str):
    """A refusal a person can read: ``{"detail": …}`` for the API (as DRF answers), a small page otherwise."""
    from django.http import JsonResponse
    from django.shortcuts import render

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, template, {"message": message}, status=status)


class RequestSizeLimitMiddleware:
    """Refuse an over-size request body with 413 before reading it (config.uploads says why).

    First the declared Content-Length; then, for a multipart POST, the form is parsed here, so that
    the counting upload handler's ``UploadTooLarge`` becomes the same 413 instead of surfacing in
    whichever middleware or view first touches ``request.POST`` (the CSRF check does) as a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from config import uploads

        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django's own parsers refuse a malformed length
        if declared > uploads.request_max_bytes():
            return self._too_large(request)
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST, request.FILES  # noqa: B018 - parsed now, through the limiting handler
            except uploads.UploadTooLarge:
                return self._too_large(request)
        return self.get_response(request)

    def _too_large(self, request):
        from config import uploads

        # The rest of the body is never read; the WSGI server closes the connection after this answer.
        return refusal_response(request, status=413, message=uploads.upload_too_large_message(), template="413.html")
