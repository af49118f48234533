import numpy as np
import pytest

from detection.engine import faces
from detection.engine.media import decode_image


@pytest.fixture(scope="module")
def reference_face():
    from casework.demo import demo_images

    found = faces.find_faces(decode_image(demo_images()["reference.jpg"]).rgb)
    assert len(found) == 1
    return found[0]


def test_finds_one_face_with_a_128_number_template(reference_face):
    assert reference_face.embedding.shape == (faces.EMBEDDING_SIZE,)
    assert reference_face.box.width > 50


def test_no_face_in_a_photo_of_coffee():
    from skimage import data

    assert faces.find_faces(data.coffee()) == []


def test_boxes_of_a_downscaled_detection_map_back_to_full_resolution(images):
    import cv2

    rgb = decode_image(images["reference.jpg"]).rgb
    big = cv2.resize(rgb, (rgb.shape[1] * 4, rgb.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    assert faces.coarse_scale_for(big.shape) < 1  # so detection really ran on a smaller copy
    small_box = faces.detect(rgb)[0]
    big_box = faces.detect(big)[0]
    for small, large in zip(small_box.as_dict().values(), big_box.as_dict().values(), strict=True):
        assert abs(large - 4 * small) <= 0.15 * 4 * small_box.width


@pytest.fixture
def hog_passes(monkeypatch):
    scales = []
    hog = faces._hog

    def counting(gray, scale, *args):
        scales.append(scale)
        return hog(gray, scale, *args)

    monkeypatch.setattr(faces, "_hog", counting)
    return scales


def test_a_close_up_costs_one_coarse_pass(images, hog_passes):
    assert len(faces.detect(decode_image(images["reference.jpg"]).rgb)) == 1
    assert len(hog_passes) == 1


def scene(face_px: int, positions, size=(1200, 1600)) -> np.ndarray:
    """A wide, textured scene with the demo face pasted small at each position."""
    import cv2
    from skimage import data

    canvas = np.random.default_rng(5).integers(90, 160, (*size, 3), dtype=np.uint8)
    head = data.astronaut()[20:240, 120:330]  # the face is about 90 px of this 210 px crop
    head = cv2.resize(head, None, fx=face_px / 90, fy=face_px / 90, interpolation=cv2.INTER_AREA)
    for top, left in positions:
        canvas[top : top + head.shape[0], left : left + head.shape[1]] = head
    return canvas


def test_small_faces_in_a_large_scene_are_found(hog_passes):
    positions = [(100, 100), (150, 900), (700, 400), (800, 1300)]
    picture = scene(55, positions)
    assert faces._hog(faces._gray(picture), faces.coarse_scale_for(picture.shape)) == []  # downscaling alone loses them
    hog_passes.clear()
    found = faces.detect(picture)
    assert len(found) == len(positions)
    assert len(hog_passes) == 2 and hog_passes[1] > 1  # the fine pass upsampled to reach 55 px faces
    assert all(40 <= b.width <= 80 for b in found)


def test_quality_prefers_a_sharp_frontal_face(images):
    import cv2

    rgb = decode_image(images["reference.jpg"]).rgb
    sharp = faces.find_faces(rgb)[0]
    blurred_rgb = cv2.GaussianBlur(rgb, (0, 0), 4)
    blurred = faces.describe(blurred_rgb, [sharp.box])[0]
    assert sharp.quality.frontal > 0.7 and sharp.quality.size == min(sharp.box.width, sharp.box.height)
    assert blurred.quality.sharpness < sharp.quality.sharpness
    assert blurred.quality.score < sharp.quality.score


def test_identical_bytes_are_embedded_once(images, hog_passes):
    finder = faces.FaceFinder()
    rgb = decode_image(images["reference.jpg"]).rgb
    first = finder.find(rgb, sha256="abc")
    second = finder.find(rgb, sha256="abc")
    assert second is first and finder.hits == 1 and len(hog_passes) == 1


def test_the_same_person_after_recompression_is_within_threshold(reference_face, images):
    probe = faces.find_faces(decode_image(images["reported-astronaut.jpg"]).rgb)
    distances = [np.linalg.norm(p.embedding - reference_face.embedding) for p in probe]
    assert min(distances) < 0.6


def test_different_people_are_beyond_threshold(testdata):
    obama = faces.find_faces(decode_image((testdata / "faces/face_recognition/examples/obama.jpg").read_bytes()).rgb)
    biden = faces.find_faces(decode_image((testdata / "faces/face_recognition/examples/biden.jpg").read_bytes()).rgb)
    assert len(obama) == len(biden) == 1
    assert np.linalg.norm(obama[0].embedding - biden[0].embedding) > 0.6


def test_model_version_names_the_model_and_dlib():
    assert faces.MODEL_NAME in faces.model_version() and "dlib" in faces.model_version()
