// The browser's incremental MD5 (casework/static/casework/hashing/md5.js) against node's (OpenSSL's) MD5;
// tests/hashing/test_md5.py checks the same module against Python's hashlib.
// Run: node --test tests/hashing/

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { fileMd5, Md5, md5Line } from "../../casework/static/casework/hashing/md5.js";

const reference = (bytes) => createHash("md5").update(bytes).digest("hex");

// A seeded generator, so a failure names a buffer that can be made again.
function randomBytes(length, seed) {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

test("the empty input has RFC 1321's digest", () => {
  assert.equal(new Md5().hex(), "d41d8cd98f00b204e9800998ecf8427e");
  assert.equal(new Md5().update(new TextEncoder().encode("abc")).hex(), "900150983cd24fb0d6963f7d28e17f72");
});

test("every length around the 64-byte block and the 56-byte padding edge gives node's digest", () => {
  for (let length = 0; length <= 200; length += 1) {
    const bytes = randomBytes(length, length + 7);
    assert.equal(new Md5().update(bytes).hex(), reference(bytes), `length ${length}`);
  }
});

test("random buffers fed in random pieces give the digest of the whole", () => {
  for (let seed = 1; seed <= 20; seed += 1) {
    const bytes = randomBytes(1000 + seed * 9973, seed);
    const md5 = new Md5();
    let start = 0;
    let cut = seed;
    while (start < bytes.length) {
      cut = (cut * 1103515245 + 12345) >>> 0;
      const end = Math.min(bytes.length, start + (cut % 300));
      md5.update(bytes.subarray(start, end));
      start = end;
    }
    assert.equal(md5.hex(), reference(bytes), `seed ${seed}`);
  }
});

test("a file read in slices gives its digest and reports progress up to its size", async () => {
  const bytes = randomBytes(1_000_003, 99);
  const seen = [];
  const hex = await fileMd5(new Blob([bytes]), { chunkBytes: 65_536, onProgress: (done, total) => seen.push([done, total]) });
  assert.equal(hex, reference(bytes));
  assert.equal(seen.length, Math.ceil(bytes.length / 65_536));
  assert.deepEqual(seen.at(-1), [bytes.length, bytes.length]);
  assert.equal(await fileMd5(new Blob([])), "d41d8cd98f00b204e9800998ecf8427e");
});

test("the md5 line is one line whatever the file name", () => {
  assert.equal(md5Line("ab".repeat(16), "clip\nmd5:00.mp4"), `md5:${"ab".repeat(16)}  # clip md5:00.mp4`);
});
