// The browser hasher's PDQ (image_hashes.js: the engine's working copy, then pdq.js) against the hashes
// facebook/ThreatExchange publishes for its PDQ test images (pdq_reference.json). Node has no image
// decoder, so tests/hashing/test_node.py decodes the images as the engine does (Pillow, EXIF applied)
// into raw RGBA files and names their folder in PDQ_REFERENCE_PIXELS; run it through pytest.
//
// What agreement to ask, from ThreatExchange's pdq/README.md: the same pixels must give the C++
// reference's very hash; and where decoders differ, a hash of quality 80 or more within 10 bits. Images
// no longer than 512 px are hashed as they are (no working copy), so against the C++ hashes (the WASM
// build's) they must agree exactly. The Python port's hashes are its own (its test allows 16 bits).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { HASH_SIDE, imageHashes } from "../../casework/static/casework/hashing/image_hashes.js";

const FOLDER = process.env.PDQ_REFERENCE_PIXELS;
const CPP = "pdq/wasm/test/TestData/PDQMD5TestData.csv";
const skip = FOLDER ? false : "the images need decoding first: run .venv/bin/python -m pytest tests/hashing/test_node.py";

const bits = (a, b) => {
  let count = 0;
  for (let i = 0; i < a.length; i++) for (let x = parseInt(a[i], 16) ^ parseInt(b[i], 16); x; x >>= 1) count += x & 1;
  return count;
};

export function allowedBits(reference, width, height, quality) {
  if (reference.source === CPP && Math.max(width, height) <= HASH_SIDE) return 0;
  return quality >= 80 ? 10 : 16;
}

const manifest = FOLDER ? JSON.parse(readFileSync(join(FOLDER, "manifest.json"))) : [];

test("the PDQ reference images were decoded for this run", { skip }, () => {
  assert.ok(manifest.length >= 4, `${manifest.length} images`);
});

for (const image of manifest) {
  test(`the browser's PDQ of ${image.path} is ThreatExchange's`, { skip }, () => {
    const data = new Uint8ClampedArray(readFileSync(join(FOLDER, image.pixels)));
    const found = imageHashes({ width: image.width, height: image.height, data });
    for (const reference of image.references) {
      const allowed = allowedBits(reference, image.width, image.height, found.quality);
      const distance = bits(found.pdq, reference.pdq);
      assert.ok(distance <= allowed, `${distance} bits from ${reference.source}'s ${reference.pdq} (${allowed} allowed)`);
    }
  });
}
