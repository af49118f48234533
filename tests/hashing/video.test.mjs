// The browser's video hasher (casework/static/casework/hashing/vpdq.js and video_sampling.js) against
// what the engine computes for the same frames and the same synthetic videos (video_cases.json, written
// by tests/hashing/video_cases.py). Decoding a real video needs a browser: tests/browser/ does that.
// Run: node --test tests/hashing/

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { frameCopy, frameHash, PDQ_MAX_SIDE, PIXELS_EXPECTED, vpdqLine } from "../../casework/static/casework/hashing/vpdq.js";
import {
  frameSignature, greyThumbnail, hueSaturationCounts, sampleFrames, signatureChange,
} from "../../casework/static/casework/hashing/video_sampling.js";
import { synthetic } from "./synthetic.mjs";

const CASES = JSON.parse(readFileSync(new URL("./video_cases.json", import.meta.url)));
const sha256 = (bytes) => createHash("sha256").update(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");

function picture(kind, width, height, seed) {
  if (kind !== "black") return synthetic(kind, width, height, seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

// The frames of a synthetic video, as video_cases.scene_frames makes them: each scene's picture slid left
// `step` pixels a frame, wrapping.
function videoFrames(scenes) {
  const frames = [];
  for (const [kind, width, height, seed, count, step, offset = 0] of scenes) {
    const base = picture(kind, width, height, seed);
    for (let k = 0; k < count; k++) {
      const shift = ((offset + k) * step) % width;
      const data = new Uint8ClampedArray(base.data.length);
      for (let y = 0; y < height; y++) {
        const row = y * width * 4;
        data.set(base.data.subarray(row + shift * 4, row + width * 4), row);
        data.set(base.data.subarray(row, row + shift * 4), row + (width - shift) * 4);
      }
      frames.push({ width, height, data });
    }
  }
  return frames;
}

async function sampled(video, options = {}) {
  const frames = videoFrames(video.scenes);
  const looked = [];
  const frameAt = async (index) => {
    looked.push(index);
    return frames[index];
  };
  const out = [];
  for await (const frame of sampleFrames({ count: frames.length, fps: video.fps, frameAt, ...options })) out.push(frame);
  return { out, looked };
}

for (const c of CASES.frames) {
  const name = `${c.kind} ${c.width}×${c.height}`;
  const image = synthetic(c.kind, c.width, c.height, c.seed);

  test(`the frame hash of ${name} is the engine's frame_hash`, () => {
    assert.deepEqual(frameHash(image), { hex: c.pdq, quality: c.quality });
    assert.ok(Math.max(frameCopy(image).width, frameCopy(image).height) <= PDQ_MAX_SIDE);
  });

  test(`the signature of ${name} has OpenCV's thumbnail, histogram and brightness`, () => {
    assert.equal(sha256(greyThumbnail(image)), c.grey16_sha256);
    const signature = frameSignature(image);
    assert.equal(signature.brightness, c.brightness);
    assert.deepEqual([...signature.colour].map((share) => Math.round(share * 1024)), c.hue_saturation_counts);
  });
}

test("the hue-saturation counts of every grey level and pure colour fall in OpenCV's bins", () => {
  // Grey has no saturation and hue 0; pure red, green and blue are hue 0, 60 and 120 (bins 0, 2, 5).
  const rgb = Uint8ClampedArray.from([0, 0, 0, 128, 128, 128, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
  const counts = hueSaturationCounts(rgb);
  assert.equal(counts[0 * 8 + 0], 2);
  assert.equal(counts[0 * 8 + 7], 1);
  assert.equal(counts[2 * 8 + 7], 1);
  assert.equal(counts[5 * 8 + 7], 1);
});

test("scene changes between the frames are the engine's signature_change", () => {
  const signatures = CASES.frames.map((c) => frameSignature(synthetic(c.kind, c.width, c.height, c.seed)));
  signatures.push(frameSignature(picture("black", 64, 48, 0)));
  for (const { a, b, change } of CASES.changes) {
    assert.ok(Math.abs(signatureChange(signatures[a], signatures[b]) - change) < 1e-5, `${a}–${b}`);
  }
  assert.equal(signatureChange(signatures[0], signatures[0]), 0);
});

for (const video of CASES.videos) {
  test(`${video.name}: the frames sampled and their hashes are the engine's, looking ahead or not`, async () => {
    const expected = video.sampled.map(({ index, pdq, quality }) => ({ index, pdq, quality }));
    for (const lookAhead of [true, false]) {
      const { out } = await sampled(video, { lookAhead });
      assert.deepEqual(out.map(({ index, pdq, quality }) => ({ index, pdq, quality })), expected, `lookAhead ${lookAhead}`);
      out.forEach((frame) => assert.equal(frame.t, frame.index / video.fps));
    }
  });
}

test("on a still picture, looking ahead looks at under a third of the frames the engine's 8 a second look at", async () => {
  const still = { fps: 25, scenes: [["blocks", 96, 64, 61, 100, 0]] };
  const ahead = await sampled(still, { lookAhead: true });
  const every = await sampled(still, { lookAhead: false });
  assert.deepEqual(ahead.out.map((frame) => frame.index), every.out.map((frame) => frame.index));
  assert.ok(ahead.looked.length <= ahead.out.length + 3); // and the checks after the last sample, as the engine
  assert.ok(3 * ahead.looked.length < every.looked.length, `${ahead.looked.length} and ${every.looked.length}`);
});

test("a flash shorter than half a second is sampled looking at every check, and skipped looking ahead", async () => {
  const flash = CASES.flash;
  const every = await sampled(flash, { lookAhead: false });
  assert.deepEqual(every.out.map((frame) => frame.index), flash.sampled.map((frame) => frame.index));
  const ahead = await sampled(flash, { lookAhead: true });
  const flashFrames = new Set([16, 17, 18]);
  assert.ok(flash.sampled.some((frame) => flashFrames.has(frame.index)));
  assert.ok(!ahead.out.some((frame) => flashFrames.has(frame.index)));
});

test("a video line carries each frame's time, hash and quality, and a file name cannot start a line", () => {
  const frames = [{ t: 0, pdq: "ab".repeat(32), quality: 90 }, { t: 1.2346, pdq: "cd".repeat(32), quality: 40 }];
  assert.equal(vpdqLine(frames, "clip\n.mp4"), `vpdq:0.000,${"ab".repeat(32)},90;1.235,${"cd".repeat(32)},40  # clip .mp4`);
});

test("frame pixels whose length does not match their size are refused with a reason", () => {
  assert.throws(() => frameHash({ width: 10, height: 10, data: new Uint8ClampedArray(10) }), { message: PIXELS_EXPECTED });
  assert.throws(() => frameHash({ width: 0, height: 0, data: new Uint8ClampedArray(0) }), { message: PIXELS_EXPECTED });
});
