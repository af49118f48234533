// MD5 of a whole file, as StopNCII registers videos ("VideoMD5") and as the server stores every media
// item's md5: a re-upload of the very same bytes is recognised. SubtleCrypto has no MD5 (and digests
// only a whole buffer), so this is RFC 1321 in plain JavaScript, fed in slices of the file: memory stays
// at one slice whatever the file's size (a 10-minute video never sits in memory whole).

import { lineComment } from "./image_hashes.js";

export const CHUNK_BYTES = 4 * 1024 * 1024;

// Per-round shift amounts and the sine-derived constants of RFC 1321, section 3.4.
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Int32Array(64);
for (let i = 0; i < 64; i += 1) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

/** An incremental MD5: update(bytes) any number of times, then hex() once. */
export class Md5 {
  constructor() {
    this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.block = new Uint8Array(64);
    this.words = new Int32Array(16);
    this.filled = 0; // bytes waiting in this.block
    this.length = 0; // bytes seen in all (a double: exact up to 2**53)
    this.finished = false;
  }

  /** Add bytes (a Uint8Array or ArrayBuffer). */
  update(input) {
    if (this.finished) throw new Error("Md5.update after hex()");
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    this.length += bytes.length;
    let offset = 0;
    if (this.filled) {
      const take = Math.min(64 - this.filled, bytes.length);
      this.block.set(bytes.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < 64) return this;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.compress(bytes, offset);
    if (offset < bytes.length) {
      this.block.set(bytes.subarray(offset), 0);
      this.filled = bytes.length - offset;
    }
    return this;
  }

  /** The digest as 32 lowercase hex digits. */
  hex() {
    if (!this.finished) {
      const bits = this.length * 8;
      const padding = new Uint8Array((this.filled < 56 ? 56 : 120) - this.filled + 8);
      padding[0] = 0x80;
      const end = padding.length - 8;
      for (let i = 0; i < 8; i += 1) padding[end + i] = Math.floor(bits / 2 ** (8 * i)) & 0xff;
      const length = this.length;
      this.update(padding);
      this.length = length;
      this.finished = true;
    }
    let hex = "";
    for (const word of this.state) {
      for (let i = 0; i < 4; i += 1) hex += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
    }
    return hex;
  }

  compress(bytes, offset) {
    const x = this.words;
    for (let i = 0; i < 16; i += 1) {
      const p = offset + i * 4;
      x[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    let [a, b, c, d] = this.state;
    for (let i = 0; i < 64; i += 1) {
      let f;
      let g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
      else { f = c ^ (b | ~d); g = (7 * i) & 15; }
      const s = SHIFTS[(i >> 4) * 4 + (i & 3)];
      const sum = (a + f + K[i] + x[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    const state = this.state;
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }
}

/**
 * MD5 of a Blob/File, read CHUNK_BYTES at a time (File.slice); onProgress(doneBytes, totalBytes)
 * after each slice. Rejects when the file cannot be read (removed, or access revoked).
 */
export async function fileMd5(blob, { chunkBytes = CHUNK_BYTES, onProgress } = {}) {
  const md5 = new Md5();
  for (let start = 0; start < blob.size; start += chunkBytes) {
    const end = Math.min(start + chunkBytes, blob.size);
    md5.update(new Uint8Array(await blob.slice(start, end).arrayBuffer()));
    onProgress?.(end, blob.size);
  }
  return md5.hex();
}

/** The line the portal and the desk accept for a video: `md5:<32 hex digits>  # name`. */
export function md5Line(hex, name) {
  return `md5:${hex}  # ${lineComment(name)}`;
}
