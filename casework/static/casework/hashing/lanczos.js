// Pillow's Image.resize(size, Image.LANCZOS) for an 8-bit greyscale ("L") image, ported from
// Pillow's src/libImaging/Resample.c with its fixed-point arithmetic, so pHash sees the same 32×32
// grid as imagehash.phash on the server.

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 3.0;

function sinc(x) {
  if (x === 0.0) return 1.0;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos(x) {
  return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
}

// precompute_coeffs + normalize_coeffs_8bpc: for each output pixel, its first source pixel, how
// many it reads, and the weights as integers scaled by 2^22.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const inverseFilterScale = 1.0 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = new Float64Array(xmax);
    let total = 0.0;
    for (let x = 0; x < xmax; x++) {
      k[x] = lanczos((x + xmin - center + 0.5) * inverseFilterScale);
      total += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0.0 ? k[x] / total : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(sum) {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

// One pass along the rows: {width: outWidth, rows} from `rows` source rows starting at firstRow.
function horizontalPass(grey, width, firstRow, rows, outWidth) {
  const { ksize, bounds, weights } = coefficients(width, outWidth);
  const out = new Uint8Array(outWidth * rows);
  for (let yy = 0; yy < rows; yy++) {
    const line = (yy + firstRow) * width;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const k = xx * ksize;
      let sum = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < xmax; x++) sum += grey[line + x + xmin] * weights[k + x];
      out[yy * outWidth + xx] = clip8(sum);
    }
  }
  return out;
}

// One pass along the columns; `vertical` holds the coefficients, `rowOffset` the first source row
// held in `grey` (the horizontal pass, when first, keeps only the rows this pass reads).
function verticalPass(grey, width, vertical, rowOffset, outHeight) {
  const out = new Uint8Array(width * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = vertical.bounds[yy * 2] - rowOffset;
    const ymax = vertical.bounds[yy * 2 + 1];
    const k = yy * vertical.ksize;
    for (let xx = 0; xx < width; xx++) {
      let sum = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) sum += grey[(y + ymin) * width + xx] * vertical.weights[k + y];
      out[yy * width + xx] = clip8(sum);
    }
  }
  return out;
}

/** Resize greyscale pixels ({width, height, grey: Uint8Array}) to outWidth×outHeight. */
export function resizeLanczos({ width, height, grey }, outWidth, outHeight) {
  if (width === outWidth && height === outHeight) return { width, height, grey: Uint8Array.from(grey) };
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  const vertical = coefficients(height, outHeight);
  // Pillow 13 (requirements.txt pins it) runs the vertical pass first when only the height shrinks;
  // the two orders round differently, so the order is Pillow's.
  if (!(outWidth >= width && outHeight < height)) {
    let rows = grey;
    let rowOffset = 0;
    if (needHorizontal) {
      rowOffset = vertical.bounds[0];
      const lastRow = vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1];
      rows = horizontalPass(grey, width, rowOffset, lastRow - rowOffset, outWidth);
    }
    const out = needVertical ? verticalPass(rows, outWidth, vertical, rowOffset, outHeight) : rows;
    return { width: outWidth, height: outHeight, grey: out };
  }
  const columns = verticalPass(grey, width, vertical, 0, outHeight);
  const out = needHorizontal ? horizontalPass(columns, width, 0, outHeight, outWidth) : columns;
  return { width: outWidth, height: outHeight, grey: out };
}
