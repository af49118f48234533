// PDQ as the engine computes it: the pdqhash package (Facebook's C++ reference, pdq/cpp in
// facebook/ThreatExchange) fed with the luma the package's binding computes. Every step keeps the
// reference's float32 arithmetic (Math.fround), so a hash differs from the engine's only where a
// coefficient lies within rounding of the median.

const f32 = Math.fround;
const SIDE = 64;
const JAROSZ_PASSES = 2;
const MIN_HASHABLE_DIM = 5;

// pdqhashing.cpp's dct_matrix_64: 16 rows (frequencies 1..16) of 64 samples.
const DCT = (() => {
  const matrix = new Float32Array(16 * SIDE);
  const scale = f32(Math.sqrt(2 / SIDE));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < SIDE; j++) matrix[i * SIDE + j] = scale * Math.cos((Math.PI / 2 / SIDE) * (i + 1) * (2 * j + 1));
  }
  return matrix;
})();

/** The pdqhash binding's luma: R·0.299 + G·0.587 + B·0.114 in double, stored as float32. */
export function lumaFromRgb(rgb, width, height) {
  const luma = new Float32Array(width * height);
  for (let i = 0, p = 0; i < luma.length; i++, p += 3) luma[i] = rgb[p] * 0.299 + rgb[p + 1] * 0.587 + rgb[p + 2] * 0.114;
  return luma;
}

export function jaroszWindowSize(oldDimension, newDimension) {
  return Math.trunc((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

// downscaling.cpp's box1DFloat: a running-sum box filter whose window shrinks at the edges.
function box1D(input, output, offset, length, stride, fullWindow) {
  const halfWindow = Math.trunc((fullWindow + 2) / 2);
  const phase1 = halfWindow - 1;
  const phase2 = fullWindow - halfWindow + 1;
  const phase3 = length - fullWindow;
  const phase4 = halfWindow - 1;
  let li = offset;
  let ri = offset;
  let oi = offset;
  let sum = 0;
  let current = 0;
  for (let i = 0; i < phase1; i++, ri += stride) {
    sum = f32(sum + input[ri]);
    current++;
  }
  for (let i = 0; i < phase2; i++, ri += stride, oi += stride) {
    sum = f32(sum + input[ri]);
    current++;
    output[oi] = sum / current;
  }
  for (let i = 0; i < phase3; i++, li += stride, ri += stride, oi += stride) {
    sum = f32(sum + input[ri]);
    sum = f32(sum - input[li]);
    output[oi] = sum / current;
  }
  for (let i = 0; i < phase4; i++, li += stride, oi += stride) {
    sum = f32(sum - input[li]);
    current--;
    output[oi] = sum / current;
  }
}

function jaroszFilter(buffer1, buffer2, rows, cols, windowAlongRows, windowAlongCols) {
  for (let pass = 0; pass < JAROSZ_PASSES; pass++) {
    for (let i = 0; i < rows; i++) box1D(buffer1, buffer2, i * cols, cols, 1, windowAlongRows);
    for (let j = 0; j < cols; j++) box1D(buffer2, buffer1, j, rows, cols, windowAlongCols);
  }
}

// Sample the blurred image at the 64×64 cell centres.
function decimate(input, rows, cols) {
  const out = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < SIDE; i++) {
    const ini = Math.trunc(((i + 0.5) * rows) / SIDE);
    for (let j = 0; j < SIDE; j++) out[i * SIDE + j] = input[ini * cols + Math.trunc(((j + 0.5) * cols) / SIDE)];
  }
  return out;
}

// pdqImageDomainQualityMetric: how many significant gradients the 64×64 image has, 0..100.
function quality(grid) {
  let gradientSum = 0;
  const step = (u, v) => Math.abs(Math.trunc(f32(f32(f32(u - v) * 100) / 255)));
  for (let i = 0; i < SIDE - 1; i++) {
    for (let j = 0; j < SIDE; j++) gradientSum += step(grid[i * SIDE + j], grid[(i + 1) * SIDE + j]);
  }
  for (let i = 0; i < SIDE; i++) {
    for (let j = 0; j < SIDE - 1; j++) gradientSum += step(grid[i * SIDE + j], grid[i * SIDE + j + 1]);
  }
  return Math.min(100, Math.trunc(gradientSum / 90));
}

// dct64To16: B = D·A·Dᵀ, keeping the 16×16 lowest frequencies but the constant one.
function dct64To16(grid) {
  const t = new Float32Array(16 * SIDE);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < SIDE; j++) {
      let sum = 0;
      for (let k = 0; k < SIDE; k++) sum = f32(sum + f32(DCT[i * SIDE + k] * grid[k * SIDE + j]));
      t[i * SIDE + j] = sum;
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < SIDE; k++) sum = f32(sum + f32(t[i * SIDE + k] * DCT[j * SIDE + k]));
      b[i * 16 + j] = sum;
    }
  }
  return b;
}

// torben.cpp: the median without sorting, in float32 as the reference computes it.
function torben(m) {
  const n = m.length;
  let min = m[0];
  let max = m[0];
  for (let i = 1; i < n; i++) {
    if (m[i] < min) min = m[i];
    if (m[i] > max) max = m[i];
  }
  let less, greater, equal, guess, maxLtGuess, minGtGuess;
  for (;;) {
    guess = f32(f32(min + max) / 2);
    less = 0;
    greater = 0;
    equal = 0;
    maxLtGuess = min;
    minGtGuess = max;
    for (let i = 0; i < n; i++) {
      if (m[i] < guess) {
        less++;
        if (m[i] > maxLtGuess) maxLtGuess = m[i];
      } else if (m[i] > guess) {
        greater++;
        if (m[i] < minGtGuess) minGtGuess = m[i];
      } else {
        equal++;
      }
    }
    if (less <= (n + 1) >> 1 && greater <= (n + 1) >> 1) break;
    if (less > greater) max = maxLtGuess;
    else min = minGtGuess;
  }
  if (less >= (n + 1) >> 1) return maxLtGuess;
  if (less + equal >= (n + 1) >> 1) return guess;
  return minGtGuess;
}

// Bit i·16+j is set when coefficient (i, j) is above the median; the hex is the reference's
// Hash256 format (word 15 first), which is also the engine's.
function toHex(coefficients) {
  const median = torben(coefficients);
  let hex = "";
  for (let i = 15; i >= 0; i--) {
    let word = 0;
    for (let j = 0; j < 16; j++) if (coefficients[i * 16 + j] > median) word |= 1 << j;
    hex += word.toString(16).padStart(4, "0");
  }
  return hex;
}

/**
 * The 16×16 DCT coefficients and quality of RGB pixels ({width, height, rgb}, 3 bytes a pixel),
 * as pdqhash.compute_float computes them (there in reverse order).
 */
export function pdqFloat({ width, height, rgb }) {
  const buffer1 = lumaFromRgb(rgb, width, height);
  const buffer2 = new Float32Array(width * height);
  jaroszFilter(buffer1, buffer2, height, width, jaroszWindowSize(width, SIDE), jaroszWindowSize(height, SIDE));
  const grid = decimate(buffer1, height, width);
  return { coefficients: dct64To16(grid), quality: quality(grid) };
}

/** PDQ of RGB pixels ({width, height, rgb}): {hex: 64 hex digits, quality: 0..100}. */
export function pdq(image) {
  if (image.width < MIN_HASHABLE_DIM || image.height < MIN_HASHABLE_DIM) return { hex: "0".repeat(64), quality: 0 };
  const { coefficients, quality: q } = pdqFloat(image);
  return { hex: toHex(coefficients), quality: q };
}
