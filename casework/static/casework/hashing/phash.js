// pHash as imagehash.phash computes it (hash_size 8, highfreq_factor 4): Pillow's greyscale, a
// 32×32 LANCZOS copy, a 2-D DCT-II (scipy.fftpack's, unnormalised), the 8×8 lowest frequencies
// compared with their median.

import { resizeLanczos } from "./lanczos.js";

const HASH_SIZE = 8;
const IMAGE_SIZE = HASH_SIZE * 4;

/** Pillow's convert("L") of RGB pixels: ITU-R 601-2 luma in 16-bit fixed point. */
export function greyFromRgb(rgb, width, height) {
  const grey = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < grey.length; i++, p += 3) {
    grey[i] = (rgb[p] * 19595 + rgb[p + 1] * 38470 + rgb[p + 2] * 7471 + 0x8000) >> 16;
  }
  return grey;
}

// scipy.fftpack.dct type II without normalisation: y[k] = 2 Σ x[n] cos(πk(2n+1)/2N).
const COSINES = (() => {
  const table = new Float64Array(HASH_SIZE * IMAGE_SIZE);
  for (let k = 0; k < HASH_SIZE; k++) {
    for (let n = 0; n < IMAGE_SIZE; n++) table[k * IMAGE_SIZE + n] = 2 * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * IMAGE_SIZE));
  }
  return table;
})();

/** pHash of RGB pixels ({width, height, rgb}, 3 bytes a pixel): 16 hex digits, as str(ImageHash). */
export function phash({ width, height, rgb }) {
  const { grey } = resizeLanczos({ width, height, grey: greyFromRgb(rgb, width, height) }, IMAGE_SIZE, IMAGE_SIZE);
  // Along the columns (axis 0), then along the rows, keeping the 8 lowest frequencies of each.
  const columns = new Float64Array(HASH_SIZE * IMAGE_SIZE);
  for (let k = 0; k < HASH_SIZE; k++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      let sum = 0;
      for (let y = 0; y < IMAGE_SIZE; y++) sum += grey[y * IMAGE_SIZE + x] * COSINES[k * IMAGE_SIZE + y];
      columns[k * IMAGE_SIZE + x] = sum;
    }
  }
  const low = new Float64Array(HASH_SIZE * HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) {
    for (let k = 0; k < HASH_SIZE; k++) {
      let sum = 0;
      for (let x = 0; x < IMAGE_SIZE; x++) sum += columns[i * IMAGE_SIZE + x] * COSINES[k * IMAGE_SIZE + x];
      low[i * HASH_SIZE + k] = sum;
    }
  }
  const sorted = Float64Array.from(low).sort();
  const median = (sorted[31] + sorted[32]) / 2;
  let hex = "";
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let b = 0; b < 4; b++) value = (value << 1) | (low[nibble * 4 + b] > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}
