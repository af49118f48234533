// Choose a video's frames as the engine's sample_frames chooses them (detection/engine/video/sampling.py):
// every half second, plus the first frame looked at (8 a second) whose picture differs from the last
// sampled one by more than SCENE_CHANGE; the regular rate restarts after it. The signature of a frame
// (a 16×16 grey thumbnail and an 8×8 hue-saturation histogram) is OpenCV's, ported step for step.
//
// The engine reads a video forward and looks at 8 frames a second; a browser reaches a frame by seeking,
// which decodes from the last keyframe, so looking at every checked frame costs 4 seeks per sample
// (58 s for a 30 s FaceForensics++ clip in headless chromium here, 10–12 s looking ahead). By default
// (lookAhead) the sampler first looks at the next regular sample: when it has changed by less than half
// a scene change from the last sampled frame, the frames checked in between are skipped; otherwise they
// are looked at in order, exactly as the engine does. Half, not all of SCENE_CHANGE: a picture drifting
// towards the threshold crosses it at a check and falls back under it by the next sample (measured on
// short_hamilton_clip.mp4: skipping whenever the next sample was under the threshold missed 5 of the
// engine's 23 samples, vPDQ shares 0.83 against its scan; with half, none). What remains different: a
// picture that changes and changes back within half a second (a flash) is sampled by the engine and not
// here; it is one hash of the bag vPDQ compares, which asks 80 % of the frames to match.

import { resizeArea } from "./area.js";
import { roundHalfEven } from "./image_hashes.js";
import { frameHash } from "./vpdq.js";

export const SAMPLE_FPS = 2; // sampling.DEFAULT_SAMPLE_FPS
export const CHECK_FPS = 8; // sampling.CHANGE_CHECK_FPS
export const SCENE_CHANGE = 0.6; // sampling.SCENE_CHANGE
const LOOK_AHEAD_SKIPS_UNDER = 0.5; // of SCENE_CHANGE: see above
const COLOUR_WEIGHT = 3;
const SIGNATURE_SIDE = 16;
const BINS = 8;
const FLAT_SIGNATURE_STD = 2;
const HSV_SHIFT = 12;

// OpenCV's RGB2HSV_b tables (hue in 0..179), built with cvRound (halves to even) as OpenCV builds them.
const cvRound = roundHalfEven;
const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = cvRound((255 << HSV_SHIFT) / i);
  HDIV[i] = cvRound((180 << HSV_SHIFT) / (6 * i));
}
// calcHist's lookup of a channel value's bin, for uniform ranges [0, 180) and [0, 256).
const binsOf = (range) => Int8Array.from({ length: 256 }, (_, v) => (v < range ? Math.min(BINS - 1, Math.floor(v * (BINS / range))) : -1));
const HUE_BIN = binsOf(180);
const SATURATION_BIN = binsOf(256);

/** cv2.cvtColor(..., COLOR_BGR2GRAY) of RGB pixels (3 bytes a pixel): OpenCV's 15-bit fixed point. */
export function greyOf(rgb) {
  const grey = new Uint8Array(rgb.length / 3);
  for (let i = 0, p = 0; i < grey.length; i++, p += 3) grey[i] = (rgb[p] * 9798 + rgb[p + 1] * 19235 + rgb[p + 2] * 3735 + 16384) >> 15;
  return grey;
}

// cv2.resize(..., INTER_AREA) of a 2n×2n grey image to n×n: OpenCV's exact-2× path rounds half up.
function halveGrey(grey, side) {
  const half = side / 2;
  const out = new Uint8Array(half * half);
  for (let y = 0; y < half; y++) {
    for (let x = 0; x < half; x++) {
      const i = 2 * y * side + 2 * x;
      out[y * half + x] = (grey[i] + grey[i + 1] + grey[i + side] + grey[i + side + 1] + 2) >> 2;
    }
  }
  return out;
}

/** The 8×8 hue-saturation counts of RGB pixels, as cv2.calcHist of cv2.cvtColor(..., COLOR_BGR2HSV). */
export function hueSaturationCounts(rgb) {
  const counts = new Float64Array(BINS * BINS);
  for (let p = 0; p < rgb.length; p += 3) {
    const r = rgb[p];
    const g = rgb[p + 1];
    const b = rgb[p + 2];
    const v = Math.max(r, g, b);
    const diff = v - Math.min(r, g, b);
    const vr = v === r ? -1 : 0;
    const vg = v === g ? -1 : 0;
    const s = (diff * SDIV[v] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
    let h = (vr & (g - b)) + (~vr & ((vg & (b - r + 2 * diff)) + (~vg & (r - g + 4 * diff))));
    h = (h * HDIV[diff] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
    if (h < 0) h += 180;
    counts[HUE_BIN[h] * BINS + SATURATION_BIN[s]] += 1;
  }
  return counts;
}

/** The 16×16 grey thumbnail of a frame's RGBA pixels, as frame_signature makes it. */
export function greyThumbnail(image) {
  return thumbnailOf(image).grey;
}

// The 32×32 INTER_AREA thumbnail frame_signature starts from, and its 16×16 grey.
function thumbnailOf(image) {
  const thumbnail = resizeArea(image, 2 * SIGNATURE_SIDE, 2 * SIGNATURE_SIDE);
  return { thumbnail, grey: halveGrey(greyOf(thumbnail.rgb), 2 * SIGNATURE_SIDE) };
}

/**
 * A frame's signature (sampling.frame_signature) from its RGBA pixels ({width, height, data}):
 * {layout: 256 numbers, zero mean and unit length, or all zero for a flat frame; brightness; colour: 64
 * numbers summing to 1}.
 */
export function frameSignature(image) {
  const { thumbnail, grey } = thumbnailOf(image);
  const colour = hueSaturationCounts(thumbnail.rgb);
  const total = colour.reduce((sum, count) => sum + count, 0);
  for (let i = 0; i < colour.length; i++) colour[i] /= total;
  const brightness = grey.reduce((sum, value) => sum + value, 0) / grey.length;
  const layout = Float64Array.from(grey, (value) => value - brightness);
  const squares = layout.reduce((sum, value) => sum + value * value, 0);
  if (Math.sqrt(squares / layout.length) < FLAT_SIGNATURE_STD) return { layout: layout.fill(0), brightness, colour };
  const norm = Math.sqrt(squares);
  for (let i = 0; i < layout.length; i++) layout[i] /= norm;
  return { layout, brightness, colour };
}

const isFlat = (layout) => layout.every((value) => value === 0);

/** 0 for the same picture; over SCENE_CHANGE for a different one (sampling.signature_change). */
export function signatureChange(a, b) {
  let l1 = 0;
  for (let i = 0; i < a.colour.length; i++) l1 += Math.abs(a.colour[i] - b.colour[i]);
  const colour = COLOUR_WEIGHT * 0.5 * l1;
  const aFlat = isFlat(a.layout);
  const bFlat = isFlat(b.layout);
  let layout;
  if (aFlat && bFlat) layout = Math.abs(a.brightness - b.brightness) / 255;
  else if (aFlat || bFlat) layout = 1;
  else {
    let dot = 0;
    for (let i = 0; i < a.layout.length; i++) dot += a.layout[i] * b.layout[i];
    layout = 1 - dot;
  }
  return Math.max(layout, colour);
}

// The first frame at or after `from` whose time plus the slack reaches `target`, as the engine's
// `t + slack >= target` decides it for frames at k / fps.
function firstReaching(target, from, fps, slack) {
  let k = Math.max(from, Math.ceil((target - slack) * fps) - 1);
  while (k / fps + slack < target) k += 1;
  return k;
}

/**
 * The sampled frames of a video of `count` frames at `fps` (frame k at k / fps seconds), each
 * {index, t, pdq, quality}, in order. `frameAt(k)` resolves to frame k's RGBA pixels; each frame's
 * pixels are let go once its signature (and, when it is sampled, its hash) is taken.
 */
export async function* sampleFrames({ count, fps, frameAt, lookAhead = true, sampleFps = SAMPLE_FPS, checkFps = CHECK_FPS, sceneChange = SCENE_CHANGE }) {
  const sampleEvery = 1 / sampleFps;
  const checkEvery = 1 / Math.max(checkFps, sampleFps);
  // Half a frame of slack: at 29.97 frames/s a frame at 0.4838 s is the one due at 0.5 s.
  const slack = 0.5 / fps;
  const look = async (index, sampled) => {
    const pixels = await frameAt(index);
    const signature = frameSignature(pixels);
    return { index, signature, hash: sampled ? frameHash(pixels) : null, pixels: sampled ? null : pixels };
  };
  const sample = (index, hash) => ({ index, t: index / fps, pdq: hash.hex, quality: hash.quality });

  let last = await look(0, true);
  yield sample(0, last.hash);
  let lastT = 0;
  let lastIndex = 0;
  while (lastIndex + 1 < count) {
    // The frames the engine looks at from the last sample on: checks, then the next one due.
    const checks = [];
    let nextCheck = lastT + checkEvery;
    const nextSample = lastT + sampleEvery;
    let due = firstReaching(nextSample, lastIndex + 1, fps, slack);
    for (let k = firstReaching(nextCheck, lastIndex + 1, fps, slack); k < due && k < count; k = firstReaching(nextCheck, k + 1, fps, slack)) {
      checks.push(k);
      nextCheck = k / fps + checkEvery;
    }
    let found = null;
    let dueLook = null;
    if (lookAhead && due < count) {
      dueLook = await look(due, false);
      if (signatureChange(last.signature, dueLook.signature) <= LOOK_AHEAD_SKIPS_UNDER * sceneChange) checks.length = 0; // no cut to look for
    }
    for (const k of checks) {
      const seen = await look(k, false);
      if (signatureChange(last.signature, seen.signature) > sceneChange) {
        found = { index: k, signature: seen.signature, hash: frameHash(seen.pixels) };
        break;
      }
    }
    if (!found) {
      if (due >= count) break;
      const seen = dueLook ?? (await look(due, false));
      found = { index: due, signature: seen.signature, hash: frameHash(seen.pixels) };
    }
    dueLook = null;
    last = found;
    lastIndex = found.index;
    lastT = lastIndex / fps;
    yield sample(found.index, found.hash);
  }
}
