"""Template tags for sensitive media (templates/casework/_sensitive_media.html)."""

from django import template

from casework.services.reveals import media_revealed as _media_revealed

register = template.Library()


@register.simple_tag(takes_context=True)
def media_revealed(context, finding, what: str) -> bool:
    """Whether the person viewing the page recorded the choice to look at ``what`` of ``finding``: only
    then does the page name the original (the media views check again before sending it)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return False
    return _media_revealed(finding=finding, what=what, session=request.session, user=request.user)
