// The synthetic images of tests/hashing/cases.py, made with the same integer arithmetic.

function noise(count, seed) {
  const out = new Uint8ClampedArray(count);
  let state = (0x9e3779b9 ^ seed) >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state ^ (state << 13)) >>> 0;
    state = (state ^ (state >>> 17)) >>> 0;
    state = (state ^ (state << 5)) >>> 0;
    out[i] = state & 0xff;
  }
  return out;
}

/** RGBA pixels ({width, height, data}) of one recipe. */
export function synthetic(kind, width, height, seed) {
  const data = new Uint8ClampedArray(width * height * 4);
  const put = (x, y, r, g, b) => data.set([r, g, b, 255], (y * width + x) * 4);
  if (kind === "noise") {
    const values = noise(width * height * 3, seed);
    for (let i = 0; i < width * height; i++) data.set([values[i * 3], values[i * 3 + 1], values[i * 3 + 2], 255], i * 4);
  } else if (kind === "blocks") {
    const columns = Math.floor((width + 36) / 37);
    const cells = noise(columns * Math.floor((height + 36) / 37) * 3, seed);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const cell = (Math.floor(y / 37) * columns + Math.floor(x / 37)) * 3;
        put(x, y, cells[cell], cells[cell + 1], cells[cell + 2]);
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const r = Math.floor((x * 255) / Math.max(1, width - 1));
        const g = Math.floor((y * 255) / Math.max(1, height - 1));
        put(x, y, r, g, (Math.floor((x + 2 * y) / 9) % 2) * 200 + 20);
      }
    }
  }
  return { width, height, data };
}
