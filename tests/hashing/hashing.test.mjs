// The browser hasher's pure functions (casework/static/casework/hashing/) against what the engine
// computes for the same pixels (hashing_cases.json, written by tests/hashing/cases.py).
// Run: node --test tests/hashing/   (tests/hashing/test_node.py runs it under pytest)

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { hashCopy, hashLines, imageHashes, PIXELS_EXPECTED } from "../../casework/static/casework/hashing/image_hashes.js";
import { resizeLanczos } from "../../casework/static/casework/hashing/lanczos.js";
import { greyFromRgb } from "../../casework/static/casework/hashing/phash.js";
import { synthetic } from "./synthetic.mjs";

const CASES = JSON.parse(readFileSync(new URL("./hashing_cases.json", import.meta.url)));

const sha256 = (bytes) => createHash("sha256").update(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");

for (const c of CASES) {
  const name = `${c.kind} ${c.width}×${c.height}`;
  const image = synthetic(c.kind, c.width, c.height, c.seed);

  test(`the working copy of ${name} is byte for byte OpenCV's INTER_AREA copy`, () => {
    const copy = hashCopy(image);
    assert.deepEqual([copy.width, copy.height], [c.copy_width, c.copy_height]);
    assert.equal(sha256(copy.rgb), c.copy_sha256);
  });

  test(`the 32×32 greyscale of ${name} is byte for byte Pillow's LANCZOS resize`, () => {
    const copy = hashCopy(image);
    const grey = greyFromRgb(copy.rgb, copy.width, copy.height);
    assert.equal(sha256(resizeLanczos({ width: copy.width, height: copy.height, grey }, 32, 32).grey), c.grey32_sha256);
  });

  test(`the PDQ, quality and pHash of ${name} are the engine's`, () => {
    assert.deepEqual(imageHashes(image), { pdq: c.pdq, quality: c.quality, phash: c.phash });
  });
}

test("different pictures get PDQ hashes far apart (the hash is not a constant)", () => {
  const bits = (a, b) => [...a].reduce((n, _, i) => n + ((parseInt(a[i], 16) ^ parseInt(b[i], 16)).toString(2).split("1").length - 1), 0);
  const gradient = imageHashes(synthetic("gradient", 700, 1300, 5)).pdq;
  assert.ok(bits(gradient, imageHashes(synthetic("blocks", 640, 480, 4)).pdq) > 64);
  assert.ok(bits(gradient, imageHashes(synthetic("noise", 1024, 512, 2)).pdq) > 64);
});

test("pixels whose length does not match their size are refused with a reason", () => {
  assert.throws(() => imageHashes({ width: 10, height: 10, data: new Uint8ClampedArray(399) }), { message: PIXELS_EXPECTED });
  assert.throws(() => imageHashes({ width: 0, height: 0, data: new Uint8ClampedArray(0) }), { message: PIXELS_EXPECTED });
  assert.throws(() => imageHashes({ width: 2, height: 2 }), { message: PIXELS_EXPECTED });
});

test("hash lines are those hash_files prints, and a file name cannot start a line of its own", () => {
  const lines = hashLines({ pdq: "ab".repeat(32), quality: 87, phash: "cd".repeat(8) }, "holiday\npdq:00 100.jpg");
  assert.deepEqual(lines, [`pdq:${"ab".repeat(32)} 87  # holiday pdq:00 100.jpg`, `phash:${"cd".repeat(8)}  # holiday pdq:00 100.jpg`]);
});
