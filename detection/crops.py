"""Face crops for the review queue: the probe face of a finding and the reference face it matched.

Cut on request from the stored files and never stored themselves, so a withdrawal that deletes the
reference photo leaves no copy of the face behind. The files are decoded with the scan's decoder
(``decode_image``: same EXIF orientation), so the boxes recorded at scan time land on the same pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from detection.encryption import EncryptionError, data_decrypt
from detection.engine.media import MediaError, decode_image
from detection.media_files import media_item_read
from detection.models import FaceTemplate, Finding, MediaItem
from detection.services import media_limits

# Some context around the box (hair, ears, background) helps a person recognise someone; dlib's
# boxes are tight around the eyes, nose and mouth.
MARGIN = 0.35
MAX_SIDE = 256


def face_crop_jpeg(data: bytes, box: dict, *, margin: float = MARGIN, max_side: int = MAX_SIDE) -> bytes | None:
    """The face in ``box`` of the image ``data``, with a margin, as JPEG; None if it cannot be cut."""
    try:
        image = decode_image(data, media_limits())
    except MediaError:
        return None
    try:
        top, right, bottom, left = (int(box[key]) for key in ("top", "right", "bottom", "left"))
    except (KeyError, TypeError, ValueError):
        return None
    pad_y, pad_x = int((bottom - top) * margin), int((right - left) * margin)
    top, bottom = max(0, top - pad_y), min(image.height, bottom + pad_y)
    left, right = max(0, left - pad_x), min(image.width, right + pad_x)
    if bottom <= top or right <= left:
        return None
    crop = Image.fromarray(image.rgb[top:bottom, left:right])
    crop.thumbnail((max_side, max_side))
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _read(field) -> bytes | None:
    if not field:
        return None
    try:
        with field.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def finding_probe_crop(finding: Finding) -> bytes | None:
    """The face found in the media item. None for videos (the box belongs to one frame), a finding
    without a face (a known-image hash) or a file no longer stored (a minor's case)."""
    item = finding.media_item
    if not finding.face_box or item.kind != MediaItem.Kind.IMAGE or not item.file:
        return None
    try:
        data = media_item_read(item)
    except (FileNotFoundError, EncryptionError):
        return None
    return face_crop_jpeg(data, finding.face_box)


def finding_reference_crop(finding: Finding) -> bytes | None:
    """The reference face the finding matched. None once consent is withdrawn (the template is gone)."""
    if finding.template_id is None:
        return None
    template = (
        FaceTemplate.objects.filter(pk=finding.template_id, subject_id=finding.subject_id)
        .select_related("reference_photo")
        .first()
    )
    if template is None:
        return None
    token = _read(template.reference_photo.image)
    if not token:
        return None
    try:
        data = data_decrypt(token=token)  # reference photos are stored encrypted (detection.encryption)
    except EncryptionError:
        return None
    return face_crop_jpeg(data, template.box)


# --- What the page shows before a person chooses to look -----------------------------------------
# The page is sent this instead of the media until the reveal is recorded (casework.services.reveals),
# so a page without its stylesheet or script (static files not served) still shows nothing that
# identifies anyone. The picture is shrunk to BLUR_SIDE pixels on its longer side, which leaves a face
# a few pixels wide, blurred there, and only then enlarged and blurred again for display: the
# enlargement cannot bring back detail that the shrinking threw away.
BLUR_SIDE = 16
BLURRED_SIDE = 320
BLURRED_QUALITY = 60
PLACEHOLDER_COLOUR = (128, 128, 128)


def blurred_jpeg(image: Image.Image) -> bytes:
    """A heavily blurred, small JPEG rendering of ``image``: its colours and layout, no detail."""
    image = image.convert("RGB")
    small = image.copy()
    small.thumbnail((BLUR_SIDE, BLUR_SIDE), Image.Resampling.BOX)
    small = small.filter(ImageFilter.GaussianBlur(radius=1))
    scale = BLURRED_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    shown = small.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(radius=BLURRED_SIDE / 20))
    out = io.BytesIO()
    shown.save(out, format="JPEG", quality=BLURRED_QUALITY)
    return out.getvalue()


def placeholder_jpeg(width: int = 4, height: int = 3) -> bytes:
    """A flat grey picture: shown where not even a blurred rendering can be made (a file that is not
    an image or a video, a video that does not decode). Fails closed: nothing of the file is sent."""
    return blurred_jpeg(Image.new("RGB", (width, height), PLACEHOLDER_COLOUR))


def media_blurred_jpeg(data: bytes, *, kind: str) -> bytes:
    """The blurred rendering of a media file: an image's pixels, or a video's first frame (the poster),
    else the grey placeholder."""
    limits = media_limits()
    if kind == MediaItem.Kind.VIDEO:
        from detection.engine.video.opening import VideoLimits, open_video

        try:
            with open_video(data, VideoLimits(max_bytes=limits.max_bytes, max_pixels=limits.max_video_pixels,
                                              max_duration_s=limits.max_duration_s)) as video:
                bgr = video.retrieve()
        except MediaError:
            return placeholder_jpeg()
        return blurred_jpeg(Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])))
    try:
        decoded = decode_image(data, limits)
    except MediaError:
        return placeholder_jpeg()
    return blurred_jpeg(Image.fromarray(decoded.rgb))


def jpeg_blurred(data: bytes | None) -> bytes | None:
    """The blurred rendering of a face crop (itself a JPEG cut by ``face_crop_jpeg``)."""
    if data is None:
        return None
    return blurred_jpeg(Image.open(io.BytesIO(data)))
