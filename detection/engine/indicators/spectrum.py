"""High-frequency spectrum of the luminance, in the spirit of Durall, Keuper & Keuper (CVPR 2020,
"Watch your up-convolution"): the up-sampling layers of GANs and some diffusion decoders fail to
reproduce the fall-off of natural images' power spectra at the highest frequencies, leaving a bump
or an abrupt drop there.

Durall et al. feed the azimuthally averaged spectrum to a trained classifier. No classifier is
trained here (too few labelled images); instead the spectrum's trend over mid frequencies is fitted
as a power law (natural images fall off roughly as 1/f²) and the measure is how far the top quarter
of frequencies departs from that trend, in decibels.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from detection.engine.indicators.base import IMAGE, Indicator, MediaContext, register

SIDE = 512  # the centre crop analysed: cropping, not resizing, which would reshape the spectrum
MIN_SIDE = 64
PROFILE_BINS = 32  # points of the 1-D spectrum kept as the value
FIT_BAND = (0.10, 0.50)  # of the Nyquist frequency: where the power law is fitted
TOP_BAND = (0.75, 1.00)  # where the departure from it is measured
SCALE_DB = 10.0  # score = 1 − exp(−|departure| / SCALE_DB): monotone, not calibrated

TOO_SMALL = "The picture is smaller than 64×64 pixels, too small to measure its spectrum."
MEANING = ("The finest detail of the picture departs from the trend of natural photos by {departure:+.1f} dB "
           "({direction}). This is a weak hint on its own.")
WEAKNESSES = (
    "Weak alone, and the score is an uncalibrated mapping of the measure, not a probability. JPEG "
    "compression, resizing, sharpening, noise reduction and screenshots change the high frequencies "
    "as much as generators do, so ordinary re-uploads score high and a generated image that was "
    "re-saved or resized can score low. Newer generators have learned to match natural spectra. "
    "Compare only images that went through the same processing."
)


def azimuthal_profile(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean log power (dB) per ring of the 2-D spectrum, and the ring's frequency as a fraction of
    Nyquist, for a square picture. A Hann window keeps the picture's borders out of the spectrum."""
    side = gray.shape[0]
    window = np.outer(np.hanning(side), np.hanning(side))
    spectrum = np.fft.fftshift(np.fft.fft2((gray - gray.mean()) * window))
    power_db = 10 * np.log10(np.abs(spectrum) ** 2 + 1e-12)
    y, x = np.indices(power_db.shape) - side // 2
    radius = np.hypot(x, y).astype(int)
    nyquist = side // 2
    inside = radius <= nyquist
    profile = np.bincount(radius[inside], weights=power_db[inside]) / np.maximum(np.bincount(radius[inside]), 1)
    return profile[1:], np.arange(1, nyquist + 1) / nyquist


def high_frequency_departure(profile: np.ndarray, frequency: np.ndarray) -> tuple[float, float]:
    """(departure in dB of the top band from the fitted power law, the law's slope in dB/decade)."""
    fit = (frequency >= FIT_BAND[0]) & (frequency <= FIT_BAND[1])
    slope, intercept = np.polyfit(np.log10(frequency[fit]), profile[fit], 1)
    top = (frequency >= TOP_BAND[0]) & (frequency <= TOP_BAND[1])
    expected = slope * np.log10(frequency[top]) + intercept
    return float(np.mean(profile[top] - expected)), float(slope)


def _centre_square(rgb: np.ndarray) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    side = min(SIDE, *gray.shape[:2])
    side -= side % 2
    top, left = (gray.shape[0] - side) // 2, (gray.shape[1] - side) // 2
    return gray[top : top + side, left : left + side]


@register
class SpectrumHighFrequency(Indicator):
    name = "spectrum_high_frequency"
    version = "1"
    applies_to = frozenset({IMAGE})
    meaning = MEANING
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        rgb = context.image()
        if min(rgb.shape[:2]) < MIN_SIDE:
            return self.not_applicable(TOO_SMALL)
        gray = _centre_square(rgb)
        profile, frequency = azimuthal_profile(gray)
        departure, slope = high_frequency_departure(profile, frequency)
        edges = np.linspace(0, len(profile), PROFILE_BINS + 1).astype(int)
        summary = [round(float(profile[a:b].mean()), 2) for a, b in pairwise(edges)]
        direction = "more fine detail than expected" if departure > 0 else "less fine detail than expected"
        value = {"departure_db": round(departure, 2), "slope_db_per_decade": round(slope, 2),
                 "profile_db": summary, "profile_frequencies": "32 equal bands from 0 to the Nyquist frequency"}
        side = gray.shape[0]
        evidence = {"region": {"top": (rgb.shape[0] - side) // 2, "left": (rgb.shape[1] - side) // 2, "side": side},
                    "fit_band": FIT_BAND, "measured_band": TOP_BAND, "channel": "luminance"}
        return self.result(value=value, score=1 - np.exp(-abs(departure) / SCALE_DB), evidence=evidence,
                           meaning=MEANING.format(departure=departure, direction=direction))
