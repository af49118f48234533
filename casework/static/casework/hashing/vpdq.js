// One PDQ hash per sampled video frame (a video's vPDQ hash), computed as the engine's frame_hash
// computes it (detection/engine/video/vpdq.py): a copy no longer than 640 px on its longer side, shrunk
// with OpenCV's INTER_AREA, then PDQ with its quality. And the line that carries a video's frame hashes
// to the server, which parses it with the engine's vpdq_parse.

import { hashCopy, lineComment, pixelsCheck } from "./image_hashes.js";
import { pdq } from "./pdq.js";

export const PDQ_MAX_SIDE = 640; // vpdq.PDQ_MAX_SIDE
export const QUALITY_MIN = 50; // vpdq.VPDQ_QUALITY_MIN: frames below it take no part in a comparison
export const PIXELS_EXPECTED = "frameHash expects {width, height, data} with 4 bytes a pixel.";

/** The RGB copy of a frame's RGBA pixels that frame_hash hashes. */
export function frameCopy(image) {
  pixelsCheck(image, PIXELS_EXPECTED);
  return hashCopy(image, PDQ_MAX_SIDE);
}

/** PDQ of a frame's RGBA pixels as frame_hash computes it: {hex: 64 hex digits, quality: 0..100}. */
export function frameHash(image) {
  return pdq(frameCopy(image));
}

/**
 * The line a video's frame hashes travel in (vpdq.vpdq_line): "vpdq:" and, for each sampled frame,
 * seconds from the first frame, the PDQ hash and its quality, frames apart by ";", then "# name".
 */
export function vpdqLine(frames, name) {
  const comment = lineComment(name);
  const body = frames.map((frame) => `${frame.t.toFixed(3)},${frame.pdq},${frame.quality}`).join(";");
  return `vpdq:${body}  # ${comment}`;
}
