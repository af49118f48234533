"""Fake indicators: each explains one way media may look manipulated or AI-generated, honestly.

Adding an indicator is adding one module here whose ``Indicator`` subclass is decorated with
``@register`` (see base.py). The scan calls ``measure_media``.
"""

from __future__ import annotations

import numpy as np

from detection.engine.faces import Box
from detection.engine.indicators.base import (
    FACE,
    IMAGE,
    VIDEO,
    Indicator,
    IndicatorOptions,
    IndicatorResult,
    MediaContext,
    all_indicators,
    register,
    run_indicators,
)
from detection.engine.media import MediaLimits

__all__ = ["FACE", "IMAGE", "VIDEO", "Indicator", "IndicatorOptions", "IndicatorResult", "MediaContext",
           "all_indicators", "measure_media", "register", "run_indicators"]


def measure_media(
    data: bytes,
    *,
    rgb: np.ndarray | None = None,
    faces: list[Box] | None = None,
    allow_noncommercial_models: bool = False,
    limits: MediaLimits | None = None,
) -> list[IndicatorResult]:
    """One result per registered indicator for these bytes. Pass the decoded pixels and face boxes
    when the caller has them, so that nothing is decoded or detected twice. Never raises for one
    indicator's failure; a file that cannot be decoded gives "not applicable" pixel indicators."""
    context = MediaContext(data=data, rgb=rgb, faces=faces, limits=limits or MediaLimits(),
                           options=IndicatorOptions(allow_noncommercial_models=allow_noncommercial_models))
    return run_indicators(context)
