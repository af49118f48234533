"""``scan_video``: from a video's bytes or path to its frame hashes and its embedded face tracks;
``video_frame_hashes``: the frame hashes alone."""

from __future__ import annotations

from dataclasses import dataclass

from detection.engine.video.detecting import detect_with_near_misses, second_opinion
from detection.engine.video.opening import VideoLimits, VideoSource, open_video
from detection.engine.video.sampling import DEFAULT_SAMPLE_FPS, sample_frames
from detection.engine.video.tracking import DEFAULT_EMBEDS_PER_TRACK, FaceTrack, FaceTracker
from detection.engine.video.vpdq import FrameHash, frame_hash


@dataclass(frozen=True)
class VideoScan:
    duration_s: float
    fps: float | None
    width: int
    height: int
    frames_sampled: int
    tracks: list[FaceTrack]
    frame_hashes: list[FrameHash]  # the video's vPDQ hash: one PDQ hash per sampled frame


def scan_video(
    source: VideoSource,
    *,
    limits: VideoLimits = VideoLimits(),
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    max_embeds_per_track: int = DEFAULT_EMBEDS_PER_TRACK,
) -> VideoScan:
    """Sample a video, hash every sampled frame, and find and follow faces, embedding at most
    ``max_embeds_per_track`` views of each. Raises MediaError for a video that cannot be scanned."""
    tracks: list[FaceTrack] = []
    frame_hashes: list[FrameHash] = []
    with open_video(source, limits) as video:
        tracker = FaceTracker(keep_best=max_embeds_per_track, second_opinion=second_opinion)
        for frame in sample_frames(video, sample_fps=sample_fps):
            frame_hashes.append(frame_hash(frame.t, frame.rgb))
            if frame.scene_cut:
                tracker.end_all()
            found = detect_with_near_misses(frame.rgb)
            tracker.update(frame.t, frame.rgb, found.faces, found.weak)
            # Embedding as each track ends frees its kept crops early.
            tracks.extend(track.embedded() for track in tracker.pop_ended())
        tracker.end_all()
        tracks.extend(track.embedded() for track in tracker.pop_ended())
        return VideoScan(
            duration_s=video.duration_s,
            fps=video.info.fps,
            width=video.info.width,
            height=video.info.height,
            frames_sampled=len(frame_hashes),
            tracks=sorted(tracks, key=lambda track: track.track_id),
            frame_hashes=frame_hashes,
        )


def video_frame_hashes(
    source: VideoSource, *, limits: VideoLimits = VideoLimits(), sample_fps: float = DEFAULT_SAMPLE_FPS
) -> list[FrameHash]:
    """The frame hashes ``scan_video`` computes (the same frames, the same hashes), without looking for
    faces: what a known video is registered by. Raises MediaError for a video that cannot be read."""
    with open_video(source, limits) as video:
        return [frame_hash(frame.t, frame.rgb) for frame in sample_frames(video, sample_fps=sample_fps)]
