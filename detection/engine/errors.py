def gettext_noop(message: str) -> str:
    """Marks a reason for translation without importing Django (Django's makemessages collects
    ``gettext_noop``) and returns it unchanged: the engine and the rows it fills keep English, and a
    page translates a stored reason where it shows it (``{% translate item.failure_reason %}``). Only
    reasons without placeholders are marked: a filled-in sentence cannot be looked up."""
    return message


class ReadableError(Exception):
    """An error whose ``reason`` is written for the person who will read it (a caseworker, a reporter)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
