"""What the file's own metadata says about its origin: EXIF, XMP and the text chunks generators write.

Read with Pillow (header only, no pixel decode) and, for XMP, from the raw packet in the bytes: the
packet sits uncompressed in JPEG APP1, PNG iTXt, WebP and TIFF alike, and searching the bytes for it
needs no XML parser on untrusted input (no entity expansion to guard against).
"""

from __future__ import annotations

import io
import json
import re

from detection.engine.indicators import vocabulary
from detection.engine.indicators.base import IMAGE, Indicator, MediaContext, register

NO_METADATA = ("The file carries no origin metadata (EXIF software or camera fields, XMP, text chunks); "
               "uploads and re-saves usually strip it.")
NOTHING_FOUND = "The file's metadata names no generator or editor and declares no digital source type."
GENERATOR_PARAMETERS = "The metadata holds image-generation settings ({detail}): the image was made by an AI generator."
DECLARED = "The metadata (unsigned) says the image was {declaration}."
SOFTWARE_NAMED = "The metadata names {software} ({category}) in {field}."
UNREADABLE_HEADER = "The file's header could not be read for metadata."

WEAKNESSES = (
    "Metadata is unsigned: anyone can write, change or remove it, and nearly every upload, re-save or "
    "screenshot strips it, so finding nothing means nothing. A named editor (Photoshop, GIMP) is "
    "common in honest photography. Matching is by known names and field layouts; a generator not on "
    "the list, or a new version that writes different fields, is missed."
)

GENERATOR_PARAMETERS_SCORE = 0.9  # a generator's own settings block: hard to write by accident
EXCERPT = 300  # characters of a text field kept as evidence (prompts can be long)

# EXIF tags: 0x0131 Software, 0x010F Make, 0x0110 Model, 0x013B Artist, 0x010E ImageDescription;
# in the Exif IFD (0x8769): 0x9286 UserComment, where AUTOMATIC1111 puts its parameters in JPEG/WebP.
EXIF_TAGS = {0x0131: "Software", 0x010F: "Make", 0x0110: "Model", 0x013B: "Artist", 0x010E: "ImageDescription"}
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286

# Fields meant to name the software or device. Other fields (prompts, captions) are searched for
# software names only when short: a long prompt asking for "a Photoshop-style edit" names no tool.
SOFTWARE_FIELDS = {"EXIF Software", "EXIF Make", "EXIF Model", "EXIF Artist", "PNG text 'Software'",
                   "PNG text 'Source'"}
SHORT_TEXT = 200

# Text chunks (PNG tEXt/zTXt/iTXt) and what writes them.
GENERATOR_CHUNKS = {
    "parameters": "AUTOMATIC1111 / Forge settings",
    "prompt": "ComfyUI prompt graph",
    "workflow": "ComfyUI workflow",
    "invokeai_metadata": "InvokeAI settings",
    "sd-metadata": "InvokeAI settings",
    "dream": "InvokeAI settings",
    "generation_data": "generator settings",
}
COMFYUI_CHUNKS = {"prompt", "workflow"}
# "Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: …" is the AUTOMATIC1111 layout; others copy it.
_SETTINGS_LINE = re.compile(r"\bSteps:\s*\d+.*\b(Sampler|CFG scale|Seed):", re.IGNORECASE | re.DOTALL)

_XMP_PACKET = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>", re.DOTALL)
# An attribute (prefix:Name="v"), an rdf:resource, or an element's text; never a closing tag.
_XMP_FIELD = r"(?<![\w/-])[\w-]+:{name}(?:\s*=\s*[\"']([^\"']*)[\"']|\s+rdf:resource\s*=\s*[\"']([^\"']*)[\"']|\s*>\s*([^<]*?)\s*<)"
XMP_FIELDS = {
    "DigitalSourceType": re.compile(_XMP_FIELD.format(name="DigitalSourceType")),
    "CreatorTool": re.compile(_XMP_FIELD.format(name="CreatorTool")),
    "softwareAgent": re.compile(_XMP_FIELD.format(name="softwareAgent")),
}


def xmp_packets(data: bytes) -> list[str]:
    return [match.group(0).decode("utf-8", "replace") for match in _XMP_PACKET.finditer(data)]


def xmp_values(packet: str, field: str) -> list[str]:
    values = (next(group for group in match.groups() if group is not None).strip()
              for match in XMP_FIELDS[field].finditer(packet))
    return [value for value in values if value]


def _text(value) -> str:
    if isinstance(value, bytes):
        # EXIF UserComment starts with an 8-byte character-code prefix (ASCII, UNICODE, JIS).
        prefix, body = value[:8], value[8:]
        if prefix.startswith(b"UNICODE"):
            # The byte order is not recorded (piexif, used by AUTOMATIC1111, writes big-endian); the
            # right one turns a Latin-script prompt into mostly ASCII, the wrong one into CJK.
            decoded = [body.decode(encoding, "replace") for encoding in ("utf-16-be", "utf-16-le")]
            return max(decoded, key=lambda text: sum(character.isascii() for character in text))
        if prefix.startswith((b"ASCII", b"\x00" * 8)):
            value = body
        return value.decode("utf-8", "replace").strip("\x00 ")
    return str(value).strip("\x00 ")


def metadata_fields(data: bytes) -> dict[str, str]:
    """The text fields read here, named by where they are (``EXIF Software``, ``PNG text 'parameters'``)."""
    from PIL import Image

    fields: dict[str, str] = {}
    image = Image.open(io.BytesIO(data))  # header only: the pixels are not decoded
    exif = image.getexif()
    for tag, name in EXIF_TAGS.items():
        if exif.get(tag):
            fields[f"EXIF {name}"] = _text(exif[tag])
    comment = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
    if comment:
        fields["EXIF UserComment"] = _text(comment)
    for key, value in image.info.items():
        if key in ("exif", "icc_profile", "xmp", "photoshop", "mp") or not isinstance(value, (str, bytes)):
            continue
        if key == "comment":
            fields["JPEG comment"] = _text(value)
        elif image.format == "PNG":
            fields[f"PNG text '{key}'"] = _text(value)
    for number, packet in enumerate(xmp_packets(data)):
        fields[f"XMP packet {number + 1}"] = packet
    return fields


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def findings(fields: dict[str, str]) -> list[dict]:
    found = []
    for field, text in fields.items():
        if field.startswith("XMP"):
            for value in xmp_values(text, "DigitalSourceType"):
                declared = vocabulary.source_type(value)
                found.append({"field": f"{field} Iptc4xmpExt:DigitalSourceType", "kind": "digital source type",
                              "detail": declared.code, "score": declared.score, "meaning": declared.meaning})
            for name in ("CreatorTool", "softwareAgent"):
                for value in xmp_values(text, name):
                    found += _software(f"{field} {name}", value)
            continue
        chunk = field.removeprefix("PNG text '").removesuffix("'").lower() if field.startswith("PNG text") else None
        # A "prompt" or "workflow" chunk counts only as a ComfyUI graph: the words alone can be a caption.
        generator_chunk = chunk in GENERATOR_CHUNKS and (chunk not in COMFYUI_CHUNKS or _comfy_graph(text))
        if generator_chunk or _SETTINGS_LINE.search(text):
            found.append({"field": field, "kind": "generator settings",
                          "detail": GENERATOR_CHUNKS.get(chunk, "generator settings"),
                          "score": GENERATOR_PARAMETERS_SCORE, "excerpt": _excerpt(text)})
        if field in SOFTWARE_FIELDS or len(text) < SHORT_TEXT:
            found += _software(field, text)
    return found


def _comfy_graph(text: str) -> bool:
    try:
        graph = json.loads(text)
    except ValueError:
        return False
    if isinstance(graph, dict) and "nodes" in graph:
        return True
    return isinstance(graph, dict) and any(isinstance(node, dict) and "class_type" in node for node in graph.values())


def _software(field: str, text: str) -> list[dict]:
    return [{"field": field, "kind": software.category, "detail": software.name, "score": software.score,
             "excerpt": _excerpt(text)} for software in vocabulary.software_named(text)]


def _meaning(finding: dict) -> str:
    if finding["kind"] == "generator settings":
        return GENERATOR_PARAMETERS.format(detail=finding["detail"])
    if finding["kind"] == "digital source type":
        return DECLARED.format(declaration=finding["meaning"].removeprefix("declared as "))
    return SOFTWARE_NAMED.format(software=finding["detail"], category=finding["kind"], field=finding["field"])


@register
class MetadataOrigin(Indicator):
    name = "metadata_origin"
    version = "1"
    applies_to = frozenset({IMAGE})
    meaning = NOTHING_FOUND
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        try:
            fields = metadata_fields(context.data)
        except (OSError, ValueError, SyntaxError):
            return self.not_applicable(UNREADABLE_HEADER)
        if not fields:
            return self.not_applicable(NO_METADATA)
        found = findings(fields)
        strongest = max(found, key=lambda finding: finding["score"], default=None)
        value = {
            "fields": sorted(fields),
            "digital_source_types": sorted({f["detail"] for f in found if f["kind"] == "digital source type"}),
            "generator_settings": sorted({f["detail"] for f in found if f["kind"] == "generator settings"}),
            "software": sorted({f["detail"] for f in found if f["kind"] not in ("digital source type",
                                                                                 "generator settings")}),
        }
        if strongest is None:
            return self.result(value=value, score=0.0, evidence={"findings": []}, meaning=NOTHING_FOUND)
        return self.result(value=value, score=strongest["score"], evidence={"findings": found},
                           meaning=_meaning(strongest))
