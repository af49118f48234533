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
    assert max(big.shape) > faces.DETECT_MAX_SIDE  # so detection really ran on a smaller copy
    small_box = faces.detect(rgb)[0]
    big_box = faces.detect(big)[0]
    for small, large in zip(small_box.as_dict().values(), big_box.as_dict().values(), strict=True):
        assert abs(large - 4 * small) <= 0.15 * 4 * small_box.width


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
