// One PDQ hash per sampled video frame (a video's vPDQ hash), computed as the engine's frame_hash
// computes it (detection/engine/video/vpdq.py): a copy no longer than 640 px on its longer side, shrunk
// with OpenCV's INTER_AREA, then PDQ with its quality. And the line that carries a video's frame hashes
// to the server, which parses it with the engine's vpdq_parse.

import { resizeArea } from "./area.js";
import { rgbOf, roundHalfEven } from "./image_hashes.js";
import { pdq } from "./pdq.js";

export const PDQ_MAX_SIDE = 640; // vpdq.PDQ_MAX_SIDE
export const PIXELS_EXPECTED = "frameHash expects {width, height, data} with 4 bytes a pixel.";

/** The RGB copy of a frame's RGBA pixels that frame_hash hashes. */
export function frameCopy(image) {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data?.length !== width * height * 4) {
    throw new TypeError(PIXELS_EXPECTED);
  }
  const scale = PDQ_MAX_SIDE / Math.max(height, width);
  if (scale < 1) return resizeArea(image, Math.max(1, roundHalfEven(width * scale)), Math.max(1, roundHalfEven(height * scale)));
  return rgbOf(image);
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
  const comment = String(name).replace(/[\r\n]+/g, " "); // a file name must not start a new line
  const body = frames.map((frame) => `${frame.t.toFixed(3)},${frame.pdq},${frame.quality}`).join(";");
  return `vpdq:${body}  # ${comment}`;
}
