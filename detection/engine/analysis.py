"""One call from bytes to everything the matcher needs: decoded size, hashes and faces, for an
image or a video (told apart by their leading bytes).

Pure and picklable, so the ``scan`` command can run it in worker processes while the parent
process does the database work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detection.engine import faces as face_engine
from detection.engine import hashes, sniffing
from detection.engine.indicators import IndicatorResult, measure_media
from detection.engine.media import NOT_AN_IMAGE, NOT_MEDIA, MediaError, MediaLimits, decode_image
from detection.engine.video.opening import VideoLimits
from detection.engine.video.scan import scan_video
from detection.engine.video.vpdq import FrameHash

# PDQ works on a 64×64 grid, so detail beyond ~512 px only costs time: hashing a 512 px copy of a
# 3 MP photo changed 4 of 256 bits and took 8 ms instead of 280 ms (measured here).
HASH_SIDE = 512


@dataclass(frozen=True)
class ImageAnalysis:
    kind: str
    width: int
    height: int
    pdq: str
    pdq_quality: int
    pdq_variants: list[str] = field(repr=False)  # the 8 rotations and flips, for matching
    phash: str
    faces: list[face_engine.Face]
    indicators: list[IndicatorResult] = field(default_factory=list)


@dataclass(frozen=True)
class VideoAnalysis:
    kind: str
    width: int
    height: int
    duration_s: float
    fps: float | None
    frames_sampled: int
    frame_hashes: list[FrameHash] = field(repr=False)
    # The embedded best views of every face track, with (track id, seconds) of each view.
    faces: list[face_engine.Face]
    seen: list[tuple[int, float]]
    indicators: list[IndicatorResult] = field(default_factory=list)

    @property
    def pdq_variants(self) -> list[str]:
        """Every sampled frame's hash: a known image matches when any frame of the video is it."""
        return [frame.pdq_hex for frame in self.frame_hashes]

    @property
    def pdq_quality(self) -> int:
        return max((frame.quality for frame in self.frame_hashes), default=0)


Analysis = ImageAnalysis | VideoAnalysis


def analyze(
    data: bytes,
    *,
    limits: MediaLimits,
    finder: face_engine.FaceFinder | None = None,
    sha256: str | None = None,
    allow_noncommercial_models: bool = False,
) -> Analysis:
    """Raises ``MediaError`` for anything that cannot be decoded within ``limits``."""
    _, kind = sniffing.sniff(data)
    if kind == sniffing.VIDEO:
        return analyze_video(data, limits=limits, allow_noncommercial_models=allow_noncommercial_models)
    try:
        return analyze_image(
            data, limits=limits, finder=finder, sha256=sha256, allow_noncommercial_models=allow_noncommercial_models
        )
    except MediaError as exc:
        # Bytes that look like neither (random bytes named .mp4): "not an image" would suggest that
        # a video would have been read. Media that sniffed as an image keeps the image's own reason.
        if kind != sniffing.IMAGE and exc.reason == NOT_AN_IMAGE:
            raise MediaError(NOT_MEDIA) from None
        raise


def analyze_video(data: bytes, *, limits: MediaLimits, allow_noncommercial_models: bool = False) -> VideoAnalysis:
    scan = scan_video(
        data, limits=VideoLimits(max_bytes=limits.max_bytes, max_pixels=limits.max_video_pixels,
                                 max_duration_s=limits.max_duration_s)
    )
    found, seen = [], []
    for track in scan.tracks:
        for view in track.best:
            found.append(face_engine.Face(box=view.box, embedding=view.embedding))
            seen.append((track.track_id, view.t))
    return VideoAnalysis(
        kind="video",
        width=scan.width,
        height=scan.height,
        duration_s=scan.duration_s,
        fps=scan.fps,
        frames_sampled=scan.frames_sampled,
        frame_hashes=scan.frame_hashes,
        faces=found,
        seen=seen,
        indicators=measure_media(data, limits=limits, allow_noncommercial_models=allow_noncommercial_models),
    )


def _hash_copy(rgb: np.ndarray) -> np.ndarray:
    import cv2

    height, width = rgb.shape[:2]
    scale = HASH_SIDE / max(height, width)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)


def known_image_hashes(rgb: np.ndarray) -> list[hashes.PerceptualHash]:
    """An image's PDQ (with its quality) and pHash, computed as a scan computes them (the same copy),
    so a known image registered by its hashes alone matches its re-uploads."""
    small = _hash_copy(rgb)
    variants, quality = hashes.pdq_dihedral(small)
    return [hashes.PerceptualHash("pdq", variants[0], quality), hashes.phash(small)]


def analyze_image(
    data: bytes,
    *,
    limits: MediaLimits,
    finder: face_engine.FaceFinder | None = None,
    sha256: str | None = None,
    allow_noncommercial_models: bool = False,
) -> ImageAnalysis:
    """Raises ``MediaError`` for anything that cannot be decoded within ``limits``."""
    image = decode_image(data, limits)
    small = _hash_copy(image.rgb)
    variants, quality = hashes.pdq_dihedral(small)
    found = (finder or face_engine.FaceFinder(cache_size=0)).find(image.rgb, sha256=sha256)
    return ImageAnalysis(
        kind="image",
        width=image.width,
        height=image.height,
        pdq=variants[0],
        pdq_quality=quality,
        pdq_variants=variants,
        phash=hashes.phash(small).hex,
        faces=found,
        indicators=measure_media(
            data, rgb=image.rgb, faces=[f.box for f in found], limits=limits,
            allow_noncommercial_models=allow_noncommercial_models,
        ),
    )
