"""What a file is, from its leading bytes: a server's Content-Type or a file name says nothing reliable."""

IMAGE, VIDEO, HTML, OTHER = "image", "video", "html", "other"

_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"avif": "image/avif"}


def sniff(data: bytes) -> tuple[str, str]:
    """The content type and kind (IMAGE, VIDEO, HTML or OTHER) that the leading bytes show."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", IMAGE
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", IMAGE
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", IMAGE
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", IMAGE
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo", VIDEO
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff", IMAGE
    if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # reserved bytes: "BM…" text is not a bitmap
        return "image/bmp", IMAGE
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return _HEIF_BRANDS[brand], IMAGE
        return ("video/quicktime" if brand == b"qt  " else "video/mp4"), VIDEO
    if head[4:8] in (b"moov", b"mdat", b"wide"):  # QuickTime files older than the ftyp box
        return "video/quicktime", VIDEO
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("video/webm" if b"webm" in head else "video/x-matroska"), VIDEO
    if _looks_like_html(data[:1024]):
        return "text/html", HTML
    return "application/octet-stream", OTHER


def _looks_like_html(head: bytes) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    while text.startswith(b"<!--") and b"-->" in text:  # a leading comment often precedes the doctype
        text = text.split(b"-->", 1)[1].lstrip()
    return text.startswith((b"<!doctype html", b"<html"))
