"""The indicator framework: what every fake indicator reports, the media it reads, and the run.

An indicator never says "fake: yes/no". It says what it measured (``value``), how strongly that
points to manipulation or generation (``score`` in [0, 1], or ``None`` when it could not measure),
where it looked (``evidence``), what that means in one line for a caseworker (``meaning``), and
how it is known to fail (``weaknesses``). A low score or a missing signal is never evidence that
media is authentic: generators and editors leave no trace as often as they leave one.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from detection.engine import sniffing
from detection.engine.faces import Box
from detection.engine.media import MediaError, MediaLimits, decode_image

if TYPE_CHECKING:
    from detection.engine.indicators.face_views import VideoFaceViews

logger = logging.getLogger(__name__)


IMAGE, VIDEO, FACE = "image", "video", "face"

FAILED = "This indicator could not be measured on this file because of an internal error."
WRONG_KIND = "This indicator reads {wanted}; this file is {kind}."
UNREADABLE = "The pixels could not be decoded, so this indicator could not look at them: {reason}"
NO_FACE = "No face was found, so this face indicator has nothing to compare."


@dataclass(frozen=True)
class IndicatorOptions:
    """Switches a deployment sets, not a reporter.

    ``allow_noncommercial_models`` lets indicators load models whose licence forbids commercial use
    (dlib's 68-point iBUG landmarks, the learned probe fitted on CNNDetection's images); off unless the
    organisation has confirmed it may. ``model_threads``: threads for a neural network's inference (0: the
    runtime's default, one per core); one by default, as scan workers run one process per core.
    """

    allow_noncommercial_models: bool = False
    model_threads: int = 1


DEFAULT_OPTIONS = IndicatorOptions()


@dataclass(frozen=True)
class IndicatorResult:
    name: str
    version: str
    value: Any  # JSON-able
    score: float | None  # [0, 1]; None: not applicable or not measured
    evidence: dict[str, Any]
    meaning: str
    weaknesses: str

    def __post_init__(self):
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"{self.name}: score {self.score} is outside [0, 1]")

    @property
    def applicable(self) -> bool:
        return self.score is not None

    def as_dict(self) -> dict[str, Any]:
        """The fields of ``detection.models.IndicatorResult``, JSON-safe (numpy scalars converted)."""
        return json.loads(json.dumps(asdict(self), default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


@dataclass
class MediaContext:
    """One media item as indicators see it: its bytes, and the pixels and faces decoded once.

    ``rgb`` and ``faces`` may be handed over by the scan that already has them; otherwise they are
    decoded or detected on first use and kept, so several indicators never decode twice. For a
    video, ``video`` (faces followed through it, see face_views.py) is observed on first use from
    the bytes alone, in one pass shared by every video indicator.
    """

    data: bytes
    rgb: np.ndarray | None = None
    faces: list[Box] | None = None
    options: IndicatorOptions = field(default_factory=IndicatorOptions)
    limits: MediaLimits = field(default_factory=MediaLimits)
    content_type: str = ""
    kind: str = ""
    video: VideoFaceViews | None = None
    # What one indicator computed that another, or an evaluation, may reuse (e.g. an image's embedding).
    derived: dict[str, Any] = field(default_factory=dict)
    # A video that could not be read fails once: its error is kept so that the next video
    # indicator does not read it again.
    _video_error: MediaError | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if not self.kind or not self.content_type:
            content_type, kind = sniffing.sniff(self.data)
            self.content_type = self.content_type or content_type
            self.kind = self.kind or kind
        if self.rgb is not None and self.kind != VIDEO:
            self.kind = IMAGE  # pixels handed over (a crop, a frame): they are what is measured

    def image(self) -> np.ndarray:
        """H×W×3 uint8 RGB; raises ``MediaError`` when the bytes cannot be decoded."""
        if self.rgb is None:
            self.rgb = decode_image(self.data, self.limits).rgb
        return self.rgb

    def face_boxes(self) -> list[Box]:
        if self.faces is None:
            from detection.engine import faces as face_engine

            self.faces = face_engine.detect(self.image())
        return self.faces

    def video_faces(self) -> VideoFaceViews:
        """The faces followed through this video; raises ``MediaError`` when it cannot be read."""
        if self.video is None:
            if self._video_error is not None:
                raise self._video_error
            from detection.engine.indicators.face_views import observe_video
            from detection.engine.video.opening import VideoLimits

            limits = VideoLimits(max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_video_pixels,
                                 max_duration_s=self.limits.max_duration_s)
            try:
                self.video = observe_video(self.data, limits=limits,
                                           eyes=self.options.allow_noncommercial_models)
            except MediaError as error:
                self._video_error = error
                raise
        return self.video


class Indicator(ABC):
    """One signal. Subclasses set the class attributes and implement ``measure``.

    ``applies_to`` names the kinds of media the indicator reads: IMAGE, VIDEO, and FACE for
    indicators that compare a face with the rest of a still image.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    applies_to: ClassVar[frozenset[str]]
    meaning: ClassVar[str]  # the default line; a result may give a more specific one
    weaknesses: ClassVar[str]

    @abstractmethod
    def measure(self, context: MediaContext) -> IndicatorResult: ...

    def reads(self, kind: str) -> bool:
        return kind in self.applies_to or (kind == IMAGE and FACE in self.applies_to)

    def result(self, *, value: Any, score: float | None, evidence: dict | None = None,
               meaning: str | None = None) -> IndicatorResult:
        return IndicatorResult(
            name=self.name,
            version=self.version,
            value=value,
            score=None if score is None else float(np.clip(score, 0.0, 1.0)),
            evidence=evidence or {},
            meaning=meaning or self.meaning,
            weaknesses=self.weaknesses,
        )

    def not_applicable(self, reason: str, **evidence) -> IndicatorResult:
        return self.result(value=None, score=None, evidence={"reason": reason, **evidence}, meaning=reason)


class CombiningIndicator(Indicator):
    """An indicator over the other indicators' results, run after them (see combined.py)."""

    def measure(self, context: MediaContext) -> IndicatorResult:
        raise TypeError(f"{self.name} combines other results: run it through run_indicators")

    @abstractmethod
    def combine(self, context: MediaContext, results: list[IndicatorResult]) -> IndicatorResult: ...


_REGISTRY: dict[str, type[Indicator]] = {}


def register(cls: type[Indicator]) -> type[Indicator]:
    """Class decorator: adding an indicator is adding one module in this package that uses it."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two indicators are named {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def all_indicators() -> list[Indicator]:
    """One instance of every indicator in this package, by name."""
    import importlib
    import pkgutil

    from detection.engine import indicators as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return [_REGISTRY[name]() for name in sorted(_REGISTRY)]


def signal_indicators() -> list[Indicator]:
    """Every indicator that measures the media itself, without the combining ones."""
    return [indicator for indicator in all_indicators() if not isinstance(indicator, CombiningIndicator)]


def run_indicators(context: MediaContext, indicators: list[Indicator] | None = None) -> list[IndicatorResult]:
    """Every indicator's result, one per indicator, in the order given (by default every indicator,
    in name order). Combining indicators run last, over the other results of this run. Never raises
    for one indicator: one that fails is recorded as not applicable with the error in its evidence,
    and the rest run."""
    indicators = all_indicators() if indicators is None else indicators
    results: dict[str, IndicatorResult] = {}
    for indicator in indicators:
        if not isinstance(indicator, CombiningIndicator):
            results[indicator.name] = _run_one(indicator, context)
    signals = list(results.values())
    for indicator in indicators:
        if isinstance(indicator, CombiningIndicator):
            results[indicator.name] = _run_one(indicator, context, signals)
    return [results[indicator.name] for indicator in indicators]


def _run_one(indicator: Indicator, context: MediaContext,
             signals: list[IndicatorResult] | None = None) -> IndicatorResult:
    if not indicator.reads(context.kind):
        wanted = ", ".join(sorted(indicator.applies_to))
        return indicator.not_applicable(WRONG_KIND.format(wanted=wanted, kind=context.kind or "unknown"))
    try:
        if isinstance(indicator, CombiningIndicator):
            return indicator.combine(context, signals or [])
        return indicator.measure(context)
    except MediaError as error:
        return indicator.not_applicable(UNREADABLE.format(reason=error.reason))
    except Exception as error:  # one broken indicator must not cost the scan the others
        logger.exception("indicator %s failed", indicator.name)
        return indicator.not_applicable(FAILED, error=f"{type(error).__name__}: {error}")
