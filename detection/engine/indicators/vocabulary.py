"""What provenance declarations mean: IPTC digital source types and the software names that
generators and editors write into metadata. Shared by the C2PA and the metadata indicators.

Scores are a reading of the declaration, not a measurement: how strongly the statement, if true,
says the pixels are not an unaltered camera capture. They are not calibrated probabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass(frozen=True)
class SourceType:
    code: str
    score: float
    meaning: str


# IPTC NewsCodes "Digital Source Type" (cv.iptc.org/newscodes/digitalsourcetype), the vocabulary
# C2PA actions and XMP Iptc4xmpExt:DigitalSourceType use. Capture types score 0: a claim of
# capture is not proof of it, but it is no sign of manipulation either.
SOURCE_TYPES = {
    t.code: t
    for t in [
        SourceType("trainedAlgorithmicMedia", 0.95, "declared as made by a generative AI model"),
        SourceType("compositeWithTrainedAlgorithmicMedia", 0.95,
                   "declared as a composite that includes generative-AI elements"),
        SourceType("algorithmicMedia", 0.9, "declared as made by an algorithm, not captured by a camera"),
        SourceType("compositeSynthetic", 0.85, "declared as a composite that includes synthetic elements"),
        SourceType("digitalCreation", 0.7, "declared as created on a computer, not captured"),
        SourceType("digitalArt", 0.7, "declared as created on a computer, not captured"),  # pre-2022 name
        SourceType("virtualRecording", 0.7, "declared as a recording of a virtual scene"),
        SourceType("dataDrivenMedia", 0.6, "declared as generated from data"),
        SourceType("algorithmicallyEnhanced", 0.5, "declared as a capture enhanced by an algorithm (e.g. AI)"),
        SourceType("composite", 0.5, "declared as a composite of several images"),
        SourceType("compositeCapture", 0.5, "declared as a composite of several captures"),
        SourceType("humanEdits", 0.3, "declared as edited by a person"),
        SourceType("minorHumanEdits", 0.1, "declared as lightly edited by a person"),
        SourceType("screenCapture", 0.1, "declared as a screenshot"),
        SourceType("digitalCapture", 0.0, "declared as a digital camera capture"),
        SourceType("negativeFilm", 0.0, "declared as a scan of a film negative"),
        SourceType("positiveFilm", 0.0, "declared as a scan of a slide"),
        SourceType("print", 0.0, "declared as a scan of a print"),
    ]
}
UNKNOWN_SOURCE_TYPE = "declares a digital source type this system does not know"


def source_type(value: str) -> SourceType:
    """The entry for a declared value, which may be the full IPTC URI or the bare code."""
    code = value.strip().removeprefix(IPTC_PREFIX).removeprefix(IPTC_PREFIX.replace("http:", "https:"))
    code = code.rsplit("/", 1)[-1]
    return SOURCE_TYPES.get(code, SourceType(code, 0.0, UNKNOWN_SOURCE_TYPE))


@dataclass(frozen=True)
class Software:
    pattern: re.Pattern
    name: str
    category: str
    score: float


GENERATOR, FACE_SWAP, AI_EDITOR, EDITOR = "AI generator", "face-swap tool", "AI retouching app", "image editor"
_CATEGORY_SCORES = {GENERATOR: 0.85, FACE_SWAP: 0.9, AI_EDITOR: 0.5, EDITOR: 0.3}

# Names generators, face-swap tools and editors write into EXIF Software / XMP CreatorTool / PNG
# text, matched as whole words, case-insensitively. Ambiguous words ("flux", "runway", "imagen")
# are left out: a plug-in or camera firmware with such a word in its name would be a false alarm.
_SOFTWARE = [
    (r"stable[ _-]?diffusion|sdxl|automatic1111|sd[ _-]webui|forge webui", "Stable Diffusion", GENERATOR),
    (r"comfy[ _-]?ui", "ComfyUI", GENERATOR),
    (r"invoke[ _-]?ai", "InvokeAI", GENERATOR),
    (r"fooocus", "Fooocus", GENERATOR),
    (r"novel[ _-]?ai", "NovelAI", GENERATOR),
    (r"midjourney", "Midjourney", GENERATOR),
    (r"dall[ ·.\-]?e", "DALL·E", GENERATOR),
    (r"adobe firefly|firefly", "Adobe Firefly", GENERATOR),
    (r"dreamstudio", "DreamStudio", GENERATOR),
    (r"leonardo\.ai", "Leonardo.Ai", GENERATOR),
    (r"ideogram", "Ideogram", GENERATOR),
    (r"bing image creator", "Bing Image Creator", GENERATOR),
    (r"made with google ai|google ai", "Google AI", GENERATOR),
    (r"chatgpt|gpt-4o|gpt-image", "OpenAI image generation", GENERATOR),
    (r"diffusers", "Hugging Face Diffusers", GENERATOR),
    (r"deepfacelab", "DeepFaceLab", FACE_SWAP),
    (r"faceswap", "Faceswap", FACE_SWAP),
    (r"facefusion", "FaceFusion", FACE_SWAP),
    (r"roop", "roop", FACE_SWAP),
    (r"reface", "Reface", FACE_SWAP),
    (r"faceapp", "FaceApp", AI_EDITOR),
    (r"facetune", "Facetune", AI_EDITOR),
    (r"remini", "Remini", AI_EDITOR),
    (r"lensa", "Lensa", AI_EDITOR),
    (r"photoshop", "Adobe Photoshop", EDITOR),
    (r"lightroom", "Adobe Lightroom", EDITOR),
    (r"gimp", "GIMP", EDITOR),
    (r"affinity photo", "Affinity Photo", EDITOR),
    (r"pixelmator", "Pixelmator", EDITOR),
    (r"snapseed", "Snapseed", EDITOR),
    (r"picsart", "PicsArt", EDITOR),
    (r"paint\.net", "Paint.NET", EDITOR),
    (r"krita", "Krita", EDITOR),
    (r"photopea", "Photopea", EDITOR),
    (r"canva", "Canva", EDITOR),
]
SOFTWARE = [
    Software(re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])", re.IGNORECASE), name, category,
             _CATEGORY_SCORES[category])
    for pattern, name, category in _SOFTWARE
]


def software_named(text: str) -> list[Software]:
    """Every known generator or editor named in ``text``."""
    return [software for software in SOFTWARE if software.pattern.search(text)]
