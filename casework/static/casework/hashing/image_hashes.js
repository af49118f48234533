// The hashes Reclaim registers for a known image, computed as the engine's known_image_hashes
// computes them (detection/engine/analysis.py): a working copy no longer than 512 px on its longer
// side, shrunk with OpenCV's INTER_AREA, then PDQ (with its quality) and pHash of that copy.

import { resizeArea } from "./area.js";
import { pdq } from "./pdq.js";
import { phash } from "./phash.js";

export const HASH_SIDE = 512; // analysis.HASH_SIDE
export const PIXELS_EXPECTED = "imageHashes expects {width, height, data} with 4 bytes a pixel.";

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(value) {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** The RGB pixels of RGBA ``{width, height, data}``, as {width, height, rgb}. */
export function rgbOf({ width, height, data }) {
  const rgb = new Uint8ClampedArray(width * height * 3);
  for (let i = 0, p = 0; p < rgb.length; i += 4, p += 3) {
    rgb[p] = data[i];
    rgb[p + 1] = data[i + 1];
    rgb[p + 2] = data[i + 2];
  }
  return { width, height, rgb };
}

/** Throws a TypeError with ``message`` unless ``image`` is RGBA pixels ({width, height, data}). */
export function pixelsCheck({ width, height, data }, message) {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data?.length !== width * height * 4) {
    throw new TypeError(message);
  }
}

/** A file name as the comment of a hash line: it must not start a new line. */
export function lineComment(name) {
  return String(name).replace(/[\r\n]+/g, " ");
}

/**
 * The RGB working copy of RGBA pixels ({width, height, data}) no longer than ``side`` on its longer side,
 * shrunk with INTER_AREA, as analysis._hash_copy (512 px) and vpdq.frame_hash (640 px) make it.
 */
export function hashCopy(image, side = HASH_SIDE) {
  const { width, height } = image;
  const scale = side / Math.max(width, height);
  if (scale >= 1) return rgbOf(image);
  return resizeArea(image, Math.max(1, roundHalfEven(width * scale)), Math.max(1, roundHalfEven(height * scale)));
}

/**
 * PDQ and pHash of RGBA pixels ({width, height, data: Uint8ClampedArray}, as ImageData holds them):
 * {pdq: 64 hex digits, quality: 0..100, phash: 16 hex digits}.
 */
export function imageHashes(image) {
  pixelsCheck(image, PIXELS_EXPECTED);
  const copy = hashCopy(image);
  const found = pdq(copy);
  return { pdq: found.hex, quality: found.quality, phash: phash(copy) };
}

/** The lines the portal and the desk accept, as `python -m detection.engine.hash_files` prints them. */
export function hashLines(hashes, name) {
  const comment = lineComment(name);
  return [`pdq:${hashes.pdq} ${hashes.quality}  # ${comment}`, `phash:${hashes.phash}  # ${comment}`];
}
