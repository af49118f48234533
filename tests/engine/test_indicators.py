import io
import json
import struct

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from detection.engine import faces
from detection.engine.indicators import (
    IndicatorOptions,
    IndicatorResult,
    MediaContext,
    all_indicators,
    base,
    content_credentials,
    head_pose,
    measure_media,
    metadata,
    run_indicators,
    validation,
    watermark,
)
from detection.engine.indicators.base import IMAGE, Indicator
from detection.engine.indicators.face_surroundings import FaceVersusSurroundings
from detection.engine.indicators.spectrum import SpectrumHighFrequency
from detection.engine.media import decode_image

INDICATORS = {"c2pa_content_credentials", "metadata_origin", "sd_invisible_watermark", "spectrum_high_frequency",
              "face_versus_surroundings", "head_pose_consistency", "identity_flicker", "face_temporal_flicker",
              "blink_rate", "learned_clip_probe", "combined_likelihood"}


def _png(rgb: np.ndarray, info: PngInfo | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _jpeg(rgb: np.ndarray, quality: int = 90, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


# The framework


class Broken(Indicator):
    name = "broken"
    version = "1"
    applies_to = frozenset({IMAGE})
    meaning = "never measured"
    weaknesses = "always fails"

    def measure(self, context):
        raise RuntimeError("boom")


def test_the_registry_finds_every_indicator_module():
    assert {indicator.name for indicator in all_indicators()} == INDICATORS


def test_a_failing_indicator_is_recorded_as_not_applicable_and_the_others_still_run(astronaut):
    broken, spectrum = run_indicators(MediaContext(data=_png(astronaut)), [Broken(), SpectrumHighFrequency()])
    assert broken.score is None
    assert broken.meaning == base.FAILED
    assert "RuntimeError: boom" in broken.evidence["error"]
    assert spectrum.applicable


def test_every_indicator_reports_once_with_json_safe_fields(astronaut):
    results = measure_media(_png(astronaut))
    assert [result.name for result in results] == sorted(INDICATORS)
    for result in results:
        as_dict = result.as_dict()
        json.dumps(as_dict)
        assert set(as_dict) == {"name", "version", "value", "score", "evidence", "meaning", "weaknesses"}
        assert result.meaning and result.weaknesses


def test_undecodable_bytes_leave_pixel_indicators_not_applicable():
    results = {result.name: result for result in measure_media(b"\xff\xd8\xff" + b"\x00" * 100)}
    assert results["spectrum_high_frequency"].score is None
    assert results["spectrum_high_frequency"].meaning.startswith(base.UNREADABLE.split("{")[0])


def test_a_score_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        IndicatorResult(name="x", version="1", value=None, score=1.5, evidence={}, meaning="", weaknesses="")


# C2PA Content Credentials (contentauth/c2pa-python's test fixtures)


@pytest.fixture(scope="module")
def c2pa_dir(testdata):
    return testdata / "provenance" / "c2pa"


def _credentials(path):
    return content_credentials.ContentCredentials().measure(MediaContext(data=path.read_bytes()))


def test_signed_credentials_declaring_algorithmic_media_score_high(c2pa_dir):
    result = _credentials(c2pa_dir / "C.jpg")  # c2pa.created with digitalSourceType algorithmicMedia
    assert result.value["valid"] is True
    assert result.value["digital_source_types"] == ["algorithmicMedia"]
    assert result.value["claim_generator"].startswith("make_test_images")
    assert result.score >= 0.9


def test_signed_credentials_recording_only_colour_edits_score_low(c2pa_dir):
    result = _credentials(c2pa_dir / "CA.jpg")
    assert result.value["valid"] is True
    assert result.value["digital_source_types"] == []
    assert "c2pa.color_adjustments" in result.value["actions"]
    assert result.score == content_credentials.EDIT_ACTION_SCORE


@pytest.mark.parametrize(("file", "code"), [("E-sig-CA.jpg", "claimSignature.mismatch"),
                                            ("XCA.jpg", "assertion.dataHash.mismatch")])
def test_broken_or_edited_after_signing_credentials_are_a_signal(c2pa_dir, file, code):
    result = _credentials(c2pa_dir / file)
    assert result.value["valid"] is False
    assert code in result.value["validation_failures"]
    assert result.score == content_credentials.INTEGRITY_FAILURE_SCORE


def test_an_untrusted_test_signer_is_reported_but_not_a_failure(c2pa_dir):
    result = _credentials(c2pa_dir / "CA.jpg")
    assert result.value["signer_trusted"] is False
    assert "signingCredential.untrusted" not in result.value["validation_failures"]


@pytest.mark.parametrize("file", ["A.jpg", "P1000827.jpg", "earth_apollo17.jpg"])
def test_no_credentials_is_not_applicable(c2pa_dir, file):
    result = _credentials(c2pa_dir / file)
    assert result.score is None
    assert result.meaning == content_credentials.NO_MANIFEST


def test_a_remote_manifest_is_named_but_not_fetched(c2pa_dir):
    result = _credentials(c2pa_dir / "cloud.jpg")
    assert result.score is None
    assert result.evidence["remote_manifest"].startswith("https://")


def test_credentials_are_read_from_video_while_image_indicators_step_aside(c2pa_dir):
    results = {result.name: result for result in measure_media((c2pa_dir / "video1.mp4").read_bytes())}
    assert results["c2pa_content_credentials"].value["manifest_present"] is True
    assert results["spectrum_high_frequency"].score is None


# Metadata written by generators and editors


def _origin(data: bytes):
    return metadata.MetadataOrigin().measure(MediaContext(data=data))


def test_automatic1111_parameters_chunk_is_detected(astronaut):
    info = PngInfo()
    info.add_text("parameters", "portrait photo\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Model: sdxl")
    result = _origin(_png(astronaut[:64, :64], info))
    assert result.score == metadata.GENERATOR_PARAMETERS_SCORE
    assert result.value["generator_settings"] == [metadata.GENERATOR_CHUNKS["parameters"]]
    assert result.evidence["findings"][0]["field"] == "PNG text 'parameters'"


def test_comfyui_graph_is_detected_but_a_plain_prompt_caption_is_not(astronaut):
    graph = PngInfo()
    graph.add_text("prompt", json.dumps({"3": {"class_type": "KSampler", "inputs": {"steps": 20}}}))
    assert _origin(_png(astronaut[:64, :64], graph)).score == metadata.GENERATOR_PARAMETERS_SCORE
    caption = PngInfo()
    caption.add_text("prompt", "a caption someone typed")
    assert _origin(_png(astronaut[:64, :64], caption)).score == 0.0


def test_automatic1111_parameters_in_a_jpeg_exif_user_comment_are_detected(astronaut):
    exif = Image.Exif()
    settings = "portrait\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42"
    exif.get_ifd(metadata.EXIF_IFD)[metadata.USER_COMMENT] = b"UNICODE\x00" + settings.encode("utf-16-be")
    result = _origin(_jpeg(astronaut[:64, :64], exif=exif))
    assert result.score == metadata.GENERATOR_PARAMETERS_SCORE
    assert result.evidence["findings"][0]["field"] == "EXIF UserComment"
    assert "Steps: 20" in result.evidence["findings"][0]["excerpt"]


def _with_xmp(jpeg: bytes, packet: str) -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" {attribute}>
{element}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.mark.parametrize("packet", [
    XMP.format(attribute=f'Iptc4xmpExt:DigitalSourceType="{TRAINED}"', element=""),
    XMP.format(attribute="", element=f"<Iptc4xmpExt:DigitalSourceType>{TRAINED}</Iptc4xmpExt:DigitalSourceType>"),
])
def test_xmp_digital_source_type_declaring_generative_ai_is_detected(astronaut, packet):
    data = _with_xmp(_jpeg(astronaut[:64, :64]), packet)
    assert decode_image(data).width == 64  # still a valid JPEG
    result = _origin(data)
    assert result.value["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert result.score == 0.95
    assert "generative AI" in result.meaning


def test_an_editor_named_in_exif_software_is_a_weak_signal(astronaut):
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0 (Windows)"
    result = _origin(_jpeg(astronaut[:64, :64], exif=exif))
    assert result.value["software"] == ["Adobe Photoshop"]
    assert result.score == 0.3


def test_a_file_without_metadata_is_not_applicable(astronaut):
    result = _origin(_png(astronaut[:64, :64]))
    assert result.score is None
    assert result.meaning == metadata.NO_METADATA


# Stable Diffusion's invisible watermark


def embed_dwt_dct(rgb: np.ndarray, bits, scale: int = watermark.SCALE) -> np.ndarray:
    """invisible-watermark's dwtDct embedder, step for step (imwatermark/maxDct.py, EmbedMaxDct.encode),
    written independently of the decoder under test: U channel only, the largest non-first
    coefficient of each 4×4 approximation block set to ¼ or ¾ of a step, the library's swapped
    detail bands on the inverse transform, and its unchecked cast back to 8 bits."""
    import cv2
    import pywt

    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
    approximation, (horizontal, vertical, diagonal) = pywt.dwt2(yuv[:rows, :cols, 1], "haar")
    number = 0
    for i in range(approximation.shape[0] // 4):
        for j in range(approximation.shape[1] // 4):
            block = approximation[i * 4 : i * 4 + 4, j * 4 : j * 4 + 4]
            position = np.argmax(np.abs(block.flatten()[1:])) + 1
            row, col = position // 4, position % 4
            value = block[row, col]
            quantised = (abs(value) // scale + 0.25 + 0.5 * bits[number % len(bits)]) * scale
            block[row, col] = quantised if value >= 0 else -quantised
            number += 1
    with np.errstate(invalid="ignore"):
        yuv[:rows, :cols, 1] = pywt.idwt2((approximation, (vertical, horizontal, diagonal)), "haar")
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB)


def _watermark(data: bytes):
    return watermark.StableDiffusionWatermark().measure(MediaContext(data=data))


@pytest.mark.parametrize("mark", watermark.KNOWN_MARKS, ids=lambda mark: mark.name)
def test_each_known_watermark_is_recovered_from_a_lossless_copy(astronaut, mark):
    result = _watermark(_png(embed_dwt_dct(astronaut.copy(), mark.bits)))
    found = next(m for m in result.value["marks"] if m["name"] == mark.name)
    assert found["matched"] == found["total"] == len(mark.bits)
    assert result.value["best"] == mark.name
    assert result.score == watermark.VERY_LIKELY_SCORE


def test_jpeg_quality_75_erases_the_watermark(astronaut):
    mark = watermark.KNOWN_MARKS[0]
    result = _watermark(_jpeg(embed_dwt_dct(astronaut.copy(), mark.bits), quality=75))
    found = next(m for m in result.value["marks"] if m["name"] == mark.name)
    assert found["matched"] < 0.75 * found["total"]
    assert result.score == 0.0
    assert result.meaning == watermark.NOT_FOUND


def test_an_unmarked_photo_shows_no_watermark(astronaut):
    assert _watermark(_png(astronaut)).score == 0.0


def test_pictures_below_256_by_256_are_too_small_for_the_watermark(astronaut):
    assert _watermark(_png(astronaut[:200, :200])).meaning == watermark.TOO_SMALL


# Frequency spectrum


def _power_law_image(side: int = 256, seed: int = 0) -> np.ndarray:
    """Grey noise whose power falls off as 1/f², as natural photos roughly do."""
    rng = np.random.default_rng(seed)
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side)))
    frequency[0, 0] = 1
    spectrum = (rng.normal(size=(side, side)) + 1j * rng.normal(size=(side, side))) / frequency
    pixels = np.real(np.fft.ifft2(spectrum))
    pixels = (pixels - pixels.min()) / np.ptp(pixels) * 255
    return np.repeat(pixels.astype(np.uint8)[:, :, None], 3, axis=2)


def _spectrum(rgb: np.ndarray):
    return SpectrumHighFrequency().measure(MediaContext(data=b"", rgb=np.ascontiguousarray(rgb)))


def _transposed_convolution_upsample(grey: np.ndarray) -> np.ndarray:
    """2× up-sampling as a GAN decoder layer does it: zeros inserted, then a fixed bilinear kernel."""
    import cv2

    spread = np.zeros((grey.shape[0] * 2, grey.shape[1] * 2))
    spread[::2, ::2] = grey
    kernel = np.outer([0.5, 1, 0.5], [0.5, 1, 0.5])
    return np.clip(cv2.filter2D(spread, -1, kernel), 0, 255).astype(np.uint8)


def test_a_natural_power_law_spectrum_scores_low_and_an_up_sampled_one_high():
    plain = _spectrum(_power_law_image(512))
    upsampled = _spectrum(np.repeat(_transposed_convolution_upsample(_power_law_image(256, seed=1)[:, :, 0])[:, :, None],
                                    3, axis=2))
    assert plain.score < 0.1
    assert upsampled.score > plain.score + 0.3
    assert upsampled.value["departure_db"] < 0  # the finest detail is missing
    assert len(plain.value["profile_db"]) == 32


# Face versus surroundings


@pytest.fixture(scope="module")
def reference_face():
    from casework.demo import demo_images

    rgb = decode_image(demo_images()["reference.jpg"]).rgb
    boxes = faces.detect(rgb)
    assert len(boxes) == 1
    return rgb, boxes


def _surroundings(rgb, boxes):
    return FaceVersusSurroundings().measure(MediaContext(data=b"", rgb=rgb, faces=boxes))


def test_a_pasted_blurred_face_disagrees_with_its_surroundings_more_than_the_untouched_photo(reference_face):
    import cv2

    rgb, boxes = reference_face
    box = boxes[0]
    pasted = rgb.copy()
    pasted[box.top : box.bottom, box.left : box.right] = cv2.GaussianBlur(
        rgb[box.top : box.bottom, box.left : box.right], (0, 0), 3)
    untouched, tampered = _surroundings(rgb, boxes), _surroundings(pasted, boxes)
    assert tampered.score > untouched.score + 0.3
    assert tampered.evidence["faces"][0]["box"] == box.as_dict()


def test_face_indicators_are_not_applicable_without_a_face():
    from skimage import data

    result = _surroundings(np.ascontiguousarray(data.coffee()), [])
    assert result.score is None
    assert result.meaning == base.NO_FACE


# Head-pose consistency (68-point model, non-commercial licence)


def test_head_pose_is_not_applicable_unless_noncommercial_models_are_allowed(reference_face):
    rgb, boxes = reference_face
    result = head_pose.HeadPoseConsistency().measure(MediaContext(data=b"", rgb=rgb, faces=boxes))
    assert result.score is None
    assert result.meaning == head_pose.NOT_ALLOWED
    assert "non-commercial" in result.evidence["licence"]


@pytest.mark.skipif(head_pose.model_path() is None, reason="dlib's 68-point model is not installed")
def test_head_pose_runs_and_names_the_licence_when_allowed(reference_face):
    rgb, boxes = reference_face
    context = MediaContext(data=b"", rgb=rgb, faces=boxes, options=IndicatorOptions(allow_noncommercial_models=True))
    result = head_pose.HeadPoseConsistency().measure(context)
    assert result.applicable
    assert result.evidence["licence"] == head_pose.LICENCE
    assert result.value["per_face_deg"][0] < 20  # a genuine, near-frontal face


# Evaluation


def test_auc_is_the_mann_whitney_statistic_with_ties_counted_half():
    assert validation.auc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert validation.auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert validation.auc([0.5, 0.5], [0.5]) == 0.5
    assert validation.auc([0.1, 0.3], [0.2]) == 0.5
    assert validation.auc([], [0.2]) is None


def test_evaluate_indicators_command_prints_one_row_per_indicator(tmp_path, astronaut):
    from django.core.management import call_command

    for label, offset in (("real", 0), ("fake", 100)):
        folder = tmp_path / label
        folder.mkdir()
        for number in range(2):
            tile = astronaut[offset + number * 40 : offset + number * 40 + 96, :96]
            (folder / f"{number}.png").write_bytes(_png(np.ascontiguousarray(tile)))
    output = io.StringIO()
    call_command("evaluate_indicators", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"),
                 stdout=output)
    text = output.getvalue()
    for name in INDICATORS:
        assert name in text
    assert "spectrum_high_frequency        1           2/2           2/2" in text
