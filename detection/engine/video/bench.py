"""How fast ``scan_video`` is and what it finds, against the naive per-frame way.

Not a test: run it by hand (see ``bench_video``) and read the ratios.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from detection.engine.video.opening import frame_rate
from detection.engine.video.sampling import DEFAULT_SAMPLE_FPS
from detection.engine.video.scan import scan_video

# dlib's published operating point for its ResNet face model (config/settings.py FACE_MATCH_THRESHOLD).
BENCH_LIKENESS_THRESHOLD = 0.6
BENCH_SIZE = (1280, 720)


def baseline_per_frame(
    path: str | os.PathLike, sample_every_frame: bool = True
) -> list[tuple[float, list[np.ndarray]]]:
    """The naive way, as face_recognition's own video example does it, for the bench to compare with:
    find and embed every face on every frame at full resolution, no tracking. With
    ``sample_every_frame=False`` only frames at DEFAULT_SAMPLE_FPS are processed. Trusted files only:
    no limits are applied."""
    import cv2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # face_recognition_models imports pkg_resources
        import face_recognition
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    fps = frame_rate(capture) or 30.0
    every = 1 if sample_every_frame else max(1, round(fps / DEFAULT_SAMPLE_FPS))
    found, index = [], 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index % every == 0:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                locations = face_recognition.face_locations(rgb)
                embeddings = face_recognition.face_encodings(rgb, locations)
                found.append((index / fps, [np.asarray(e) for e in embeddings]))
            index += 1
    finally:
        capture.release()
    return found


def bench_video(
    path: str | os.PathLike,
    *,
    references: Mapping[str, np.ndarray] | None = None,
    with_baseline: bool = False,
) -> dict:
    """CPU seconds of scan_video on a 1280×720 copy of ``path`` (made in a temporary file unless it
    is 720p already), as video seconds scanned per CPU-second; with ``with_baseline`` the same for
    baseline_per_frame. ``references`` (name → embedding) are reported as found or not by each."""
    with _at_bench_size(path) as clip:
        start = time.process_time()
        scan = scan_video(clip)
        scan_cpu = time.process_time() - start
        result = {
            "video": Path(path).name,
            "size": f"{scan.width}x{scan.height}",
            "duration_s": round(scan.duration_s, 2),
            "frames_sampled": scan.frames_sampled,
            "tracks": len(scan.tracks),
            "embeddings": sum(len(track.best) for track in scan.tracks),
            "scan_cpu_s": round(scan_cpu, 2),
            "scan_video_s_per_cpu_s": round(scan.duration_s / scan_cpu, 3),
        }
        if references is not None:
            result["scan_identities"] = _identities([e for t in scan.tracks for e in t.embeddings], references)
        if with_baseline:
            start = time.process_time()
            per_frame = baseline_per_frame(clip)
            baseline_cpu = time.process_time() - start
            embeddings = [e for _, found in per_frame for e in found]
            result.update(
                baseline_frames=len(per_frame),
                baseline_embeddings=len(embeddings),
                baseline_cpu_s=round(baseline_cpu, 2),
                baseline_video_s_per_cpu_s=round(scan.duration_s / baseline_cpu, 3),
                speedup=round(baseline_cpu / scan_cpu, 1),
            )
            if references is not None:
                result["baseline_identities"] = _identities(embeddings, references)
    return result


def _identities(embeddings: list[np.ndarray], references: Mapping[str, np.ndarray]) -> list[str]:
    if not embeddings:
        return []
    probes = np.stack(embeddings)
    return sorted(
        name
        for name, reference in references.items()
        if np.linalg.norm(probes - reference, axis=1).min() <= BENCH_LIKENESS_THRESHOLD
    )


@contextmanager
def _at_bench_size(path: str | os.PathLike) -> Iterator[str]:
    import cv2

    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = frame_rate(capture) or 30.0
    if size == BENCH_SIZE:
        capture.release()
        yield str(path)
        return
    with tempfile.NamedTemporaryFile(prefix="reclaim-bench-", suffix=".mp4") as file:
        writer = cv2.VideoWriter(file.name, cv2.VideoWriter_fourcc(*"mp4v"), fps, BENCH_SIZE)
        try:
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                writer.write(cv2.resize(bgr, BENCH_SIZE, interpolation=cv2.INTER_CUBIC))
        finally:
            writer.release()
            capture.release()
        yield file.name
