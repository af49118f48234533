"""Reclaim's detection engine: plain Python, no Django.

Decoding and limits (``media``), hashes (``hashes``), faces (``faces``) and matching (``matcher``).
Django code calls this package; it never imports Django, so it can be benchmarked and reused alone.
"""
