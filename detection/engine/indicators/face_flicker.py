"""Face-region temporal flicker: does the face's tone change from frame to frame more than the
picture around it?

A face swap is drawn and blended into each frame on its own, so its tone and shading waver between
consecutive frames while the background, from the camera, changes smoothly. For three consecutive
frames, cropped at the face track's box, the blurred luminance's second difference |a − 2b + c|
(steady motion and fades cancel; flicker does not) is averaged inside the face core (the box less
10% a side) and in a ring around it (the box grown by 10% to 50% a side); the measure is the
median, over the track, of log2 of their ratio (each plus half a grey level, as in
face_surroundings.py). The blur is 8% of the face's width: texture and compression noise flicker
in genuine video too, tone does not.

On the shared test videos (every half second, 61 windows each): the FaceForensics++ original
ffpp_original_519.mp4 0.21, its Deepfakes swap ffpp_deepfakes_519_515.mp4 1.47, the genuine stage
footage short_hamilton_clip.mp4 −0.02 (8 windows of its singer).
"""

from __future__ import annotations

import numpy as np

from detection.engine.indicators.base import VIDEO, Indicator, MediaContext, register
from detection.engine.indicators.face_views import (
    CORE_MARGIN,
    FLICKER_SIGMA,
    RING_INNER,
    RING_OUTER,
    FaceTrackViews,
    measured_tracks,
)

FLOOR = 0.5  # grey levels added to both sides of the ratio: 8-bit quantisation
MIN_WINDOWS = 3  # three-frame windows per track
SCALE = 1.0  # score = 1 − exp(−median log2 ratio / SCALE), 0 when the face flickers less: not calibrated

NO_TRACK = ("No face was followed through enough of the video (at least 3 half-second samples with room "
            "around it) to compare its flicker with its surroundings.")
MEANING = ("From frame to frame the tone of the face {which} wavers ×{ratio:.2g} as much as the picture around "
           "it (median over {windows} moments); a face swap blended into each frame on its own flickers "
           "more than its surroundings. This is a weak hint on its own.")
WEAKNESSES = (
    "Weak alone, and the score is an uncalibrated mapping, not a probability. A genuine face that "
    "talks, laughs or turns changes more than a still background, and flickering lights, flashes, "
    "moving shadows and a busy or moving background change the balance either way. The face box "
    "comes from a detector and is held for three frames, so fast motion leaks into the measure. "
    "Swaps smoothed over time, and whole frames generated at once, show nothing."
)


def track_flicker(track: FaceTrackViews) -> dict | None:
    if len(track.flicker) < MIN_WINDOWS:
        return None
    ratios = [float(np.log2((window.face + FLOOR) / (window.ring + FLOOR))) for window in track.flicker]
    strongest = int(np.argmax(ratios))
    return {"track": track.track_id, "seen_s": [round(track.first_t, 2), round(track.last_t, 2)],
            "windows": len(ratios), "median_log2_ratio": round(float(np.median(ratios)), 3),
            "median_face": round(float(np.median([w.face for w in track.flicker])), 3),
            "median_surroundings": round(float(np.median([w.ring for w in track.flicker])), 3),
            "strongest": {"t": round(track.flicker[strongest].t, 2), "log2_ratio": round(ratios[strongest], 3)},
            "frames_s": [round(window.t, 2) for window in track.flicker]}


@register
class FaceTemporalFlicker(Indicator):
    name = "face_temporal_flicker"
    version = "1"
    applies_to = frozenset({VIDEO})
    meaning = NO_TRACK
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        video = context.video_faces()
        measured = measured_tracks(video, track_flicker, "median_log2_ratio")
        if measured is None:
            return self.not_applicable(NO_TRACK, video=video.summary())
        tracks, worst, which = measured
        evidence = {"tracks": tracks, "video": video.summary(),
                    "regions": {"core": f"box less {CORE_MARGIN:.0%} per side",
                                "ring": f"box grown by {RING_INNER:.0%} to {RING_OUTER:.0%} per side",
                                "frames": "three consecutive frames at each half-second sample",
                                "blur": f"{FLICKER_SIGMA:.0%} of the face width"}}
        return self.result(
            value={"per_track_median_log2_ratio": [track["median_log2_ratio"] for track in tracks],
                   "worst_track": worst["track"]},
            score=1 - np.exp(-max(0.0, worst["median_log2_ratio"]) / SCALE),
            evidence=evidence,
            meaning=MEANING.format(which=which, ratio=2 ** worst["median_log2_ratio"], windows=worst["windows"]),
        )
