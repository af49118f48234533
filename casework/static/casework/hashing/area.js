// The engine's working copy of an image: OpenCV's cv2.resize(..., INTER_AREA) ported step for step
// (detection/engine/analysis.py, _hash_copy), so the browser hashes the very pixels a scan hashes.
// Canvas drawImage is not used: each browser scales with its own filter.

const f32 = Math.fround;

// OpenCV's saturate_cast<uchar>(float): round half to even (cvRound), then clamp.
function toByte(value) {
  let rounded = Math.round(value);
  if (rounded - value === 0.5 && rounded % 2 !== 0) rounded -= 1;
  return rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
}

// OpenCV's computeResizeAreaTab: for each output cell, the source cells it covers and their weights.
function areaTable(sourceSize, outSize, scale) {
  const table = [];
  for (let dx = 0; dx < outSize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, sourceSize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, sourceSize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) table.push([dx, sx1 - 1, f32((sx1 - fsx1) / cellWidth)]);
    for (let sx = sx1; sx < sx2; sx++) table.push([dx, sx, f32(1.0 / cellWidth)]);
    if (fsx2 - sx2 > 1e-3) table.push([dx, sx2, f32(Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth)]);
  }
  return table;
}

// OpenCV's resizeAreaFast_ for an exact integer ratio (its 2×2 SIMD path rounds half up).
function resizeAreaFast(image, outWidth, outHeight, scaleX, scaleY) {
  const { width, data } = image;
  const out = new Uint8ClampedArray(outWidth * outHeight * 3);
  const area = scaleX * scaleY;
  const inverse = f32(1 / area);
  const twoByTwo = scaleX === 2 && scaleY === 2;
  for (let dy = 0; dy < outHeight; dy++) {
    for (let dx = 0; dx < outWidth; dx++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let y = 0; y < scaleY; y++) {
          const row = (dy * scaleY + y) * width;
          for (let x = 0; x < scaleX; x++) sum += data[(row + dx * scaleX + x) * 4 + c];
        }
        out[(dy * outWidth + dx) * 3 + c] = twoByTwo ? (sum + 2) >> 2 : toByte(f32(sum * inverse));
      }
    }
  }
  return out;
}

/**
 * Shrink RGBA pixels ({width, height, data}) to outWidth×outHeight RGB as cv2.resize INTER_AREA does.
 * Returns {width, height, rgb: Uint8ClampedArray} (3 bytes a pixel, alpha dropped as PIL's
 * convert("RGB") drops it).
 */
export function resizeArea(image, outWidth, outHeight) {
  const { width, height, data } = image;
  const scaleX = width / outWidth;
  const scaleY = height / outHeight;
  const intX = Math.round(scaleX);
  const intY = Math.round(scaleY);
  if (Math.abs(scaleX - intX) < Number.EPSILON && Math.abs(scaleY - intY) < Number.EPSILON) {
    return { width: outWidth, height: outHeight, rgb: resizeAreaFast(image, outWidth, outHeight, intX, intY) };
  }
  const xtab = areaTable(width, outWidth, scaleX);
  const ytab = areaTable(height, outHeight, scaleY);
  const out = new Uint8ClampedArray(outWidth * outHeight * 3);
  const rowWidth = outWidth * 3;
  const buf = new Float32Array(rowWidth);
  const sum = new Float32Array(rowWidth);
  let previousDy = ytab[0][0];
  for (const [dy, sy, beta] of ytab) {
    buf.fill(0);
    const source = sy * width * 4;
    for (const [dx, sx, alpha] of xtab) {
      const s = source + sx * 4;
      const d = dx * 3;
      buf[d] = f32(buf[d] + f32(data[s] * alpha));
      buf[d + 1] = f32(buf[d + 1] + f32(data[s + 1] * alpha));
      buf[d + 2] = f32(buf[d + 2] + f32(data[s + 2] * alpha));
    }
    if (dy !== previousDy) {
      const target = previousDy * rowWidth;
      for (let i = 0; i < rowWidth; i++) {
        out[target + i] = toByte(sum[i]);
        sum[i] = f32(beta * buf[i]);
      }
      previousDy = dy;
    } else {
      for (let i = 0; i < rowWidth; i++) sum[i] = f32(sum[i] + f32(beta * buf[i]));
    }
  }
  const target = previousDy * rowWidth;
  for (let i = 0; i < rowWidth; i++) out[target + i] = toByte(sum[i]);
  return { width: outWidth, height: outHeight, rgb: out };
}
