class ReadableError(Exception):
    """An error whose ``reason`` is written for the person who will read it (a caseworker, a reporter)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
