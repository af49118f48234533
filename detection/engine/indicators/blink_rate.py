"""Blink rate: does the face blink as people do?

Li, Chang & Lyu (2018, "In Ictu Oculi") showed that early face swaps rarely blink: their training
photos show open eyes. Eye openness is the eye aspect ratio (Soukupová & Čech 2016) from dlib's
68-point landmarks, about ten times a second while a face is followed (face_views.py). The eye
counts as closing when the ratio falls below 70% of the track's own median (people's open-eye
ratios differ, so the threshold follows the face); a closure of at most half a second is a blink
(longer is looking down or eyes shut).

People blink about 17 times a minute at rest, 26 in conversation and 4.5 while reading (Bentivoglio
et al. 1997, Movement Disorders 12(6)). The score asks how unlikely so few blinks are for someone
blinking at ``LOW_NORMAL_RATE`` a minute: 1 − P(at most the observed count), Poisson. On the shared
test videos: ffpp_original_519.mp4 19 closures in 30 s of face, its Deepfakes swap none.

Needs dlib's 68-point landmark model, trained on iBUG 300-W, whose licence forbids commercial use:
it runs only where the deployment allows such models, as head-pose consistency.
"""

from __future__ import annotations

import math

import numpy as np

from detection.engine.indicators import head_pose
from detection.engine.indicators.base import VIDEO, Indicator, MediaContext, register
from detection.engine.indicators.face_views import EYE_INTERVAL_S, FaceTrackViews

LICENCE = head_pose.LICENCE
CLOSED_FRACTION = 0.7  # of the track's median eye aspect ratio
MAX_BLINK_S = 0.5
# Looks further apart than this are a gap (the face was lost or not looked at), not observed time.
MAX_GAP_S = 3 * EYE_INTERVAL_S
MIN_OBSERVED_S = 10.0  # below this even no blink at all is unremarkable
LOW_NORMAL_RATE = 6.0  # blinks a minute: between reading (4.5) and rest (17), so readers rarely score high

NOT_ALLOWED = ("Blink rate needs a landmark model licensed for non-commercial use only; "
               "this deployment has not allowed such models.")
MODEL_MISSING = "Blink rate needs dlib's 68-point landmark model, which is not installed here."
TOO_SHORT = "No face's eyes were seen for 10 seconds or more, too short to judge how often it blinks."
MEANING = ("The face {which} blinked {blinks} times in {seconds:.0f} seconds ({rate:.1f} a minute; people "
           "usually blink 6 to 26 times a minute); early face swaps rarely blink. This is a weak hint on its own.")
WEAKNESSES = (
    "Weak alone, and the score is an uncalibrated mapping, not a probability. Some people blink "
    "rarely, and everyone blinks less while reading (a presenter at a prompter) or staring at a "
    "screen; glasses, glare, small or turned faces and low frame rates hide blinks, and looking down "
    "can be taken for one. Newer face swaps reproduce blinking. The landmark model's licence forbids "
    "commercial use."
)


def blinks(eye_openness: list[tuple[float, float]]) -> tuple[list[tuple[float, float]], float]:
    """(start, duration) of each blink, and the seconds during which the eyes were looked at. A
    closure already under way when the looking starts, or resumes after a gap, cannot be timed, so
    it is not counted."""
    if len(eye_openness) < 2:
        return [], 0.0
    times = np.array([t for t, _ in eye_openness])
    ratios = np.array([ratio for _, ratio in eye_openness])
    closed = ratios < CLOSED_FRACTION * float(np.median(ratios))
    gaps = np.diff(times)
    observed = float(gaps[gaps <= MAX_GAP_S].sum())
    found, start, timed = [], None, False
    for i, is_closed in enumerate(closed):
        if i == 0 or gaps[i - 1] > MAX_GAP_S:
            start, timed = None, not is_closed
        elif is_closed:
            if start is None and timed:
                start = i
        else:
            if start is not None and times[i - 1] - times[start] <= MAX_BLINK_S:
                found.append((float(times[start]), float(times[i - 1] - times[start])))
            start, timed = None, True
    return found, observed


def poisson_at_most(count: int, expected: float) -> float:
    return sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(count + 1))


def track_blinks(track: FaceTrackViews) -> dict | None:
    found, observed = blinks(track.eye_openness)
    if observed < MIN_OBSERVED_S:
        return None
    ratios = [ratio for _, ratio in track.eye_openness]
    return {"track": track.track_id, "seen_s": [round(track.first_t, 2), round(track.last_t, 2)],
            "observed_s": round(observed, 1), "blinks": len(found),
            "per_minute": round(60 * len(found) / observed, 1),
            "median_eye_aspect_ratio": round(float(np.median(ratios)), 3), "looks": len(ratios),
            "blinks_at_s": [round(t, 2) for t, _ in found]}


@register
class BlinkRate(Indicator):
    name = "blink_rate"
    version = "1"
    applies_to = frozenset({VIDEO})
    meaning = NOT_ALLOWED
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        if not context.options.allow_noncommercial_models:
            return self.not_applicable(NOT_ALLOWED, licence=LICENCE)
        video = context.video_faces()
        if not video.eyes_measured:
            return self.not_applicable(MODEL_MISSING)
        tracks = [measured for track in video.tracks if (measured := track_blinks(track)) is not None]
        if not tracks:
            return self.not_applicable(TOO_SHORT, licence=LICENCE, video=video.summary())
        for track in tracks:
            expected = LOW_NORMAL_RATE * track["observed_s"] / 60
            track["score"] = round(1 - poisson_at_most(track["blinks"], expected), 4)
        worst = max(tracks, key=lambda track: track["score"])
        which = f"followed from {worst['seen_s'][0]:.1f} s to {worst['seen_s'][1]:.1f} s"
        evidence = {"tracks": tracks, "licence": LICENCE, "video": video.summary(),
                    "closed_below": f"{CLOSED_FRACTION:.0%} of the track's median eye aspect ratio",
                    "longest_blink_s": MAX_BLINK_S, "low_normal_rate_per_minute": LOW_NORMAL_RATE}
        return self.result(
            value={"per_track_per_minute": [track["per_minute"] for track in tracks], "worst_track": worst["track"]},
            score=worst["score"],
            evidence=evidence,
            meaning=MEANING.format(which=which, blinks=worst["blinks"], seconds=worst["observed_s"],
                                   rate=worst["per_minute"]),
        )
