// Register known images and videos by their hashes without sending them: the person chooses files, this
// page hashes each one here, in the browser (images: hashing/decode.js, hashing/image_hashes.js, the
// engine's hashes bit for bit, see manage.py hash_parity; videos: the MD5 of the whole file, StopNCII's
// VideoMD5, read in slices by hashing/md5.js, and the hashes of the frames a scan samples, decoded by a
// <video> element, hashing/video_decode.js), and writes the lines into the form's hash-lines box, the
// same box people paste hash_files' lines into, so the server reads one format with one parser.
//
// The file input has no name and is never read by the form: only the lines are sent. Without this
// script (or without a browser that can decode images) the block stays hidden and the paste box works
// as before. Files are hashed one after the other, so only one decoded image is in memory at a time.
//
// Markup (templates/casework/_hash_register.html): an element with data-hash-register holding
//   data-lines: a selector for the hash-lines textarea; data-min-quality: the server's PDQ_MIN_QUALITY;
//   data-max-seconds: the longest video scans look into (MEDIA_MAX_DURATION_S);
//   data-* texts (not-image, unreadable, not-video, too-plain, done, working, video-done, video-undecodable,
//   video-too-long, working-frames), an <input type=file>,
//   a <progress>, a list for the results, a "save" button; the form's submit buttons wait for it.

import { decodeImage, NOT_AN_IMAGE } from "./hashing/decode.js";
import { hashLines, imageHashes } from "./hashing/image_hashes.js";
import { fileMd5, md5Line } from "./hashing/md5.js";
import { VIDEO_TOO_LONG, videoFrameHashes } from "./hashing/video_decode.js";
import { QUALITY_MIN, vpdqLine } from "./hashing/vpdq.js";

const SAVED_NAME = "reclaim-hashes.txt";
const VIDEO_NAME = /\.(mp4|m4v|mov|3gp|webm|mkv|avi|wmv|flv|mpe?g|ts)$/i;

// The first bytes of the containers videos come in. A browser decodes few of the codecs people's videos
// use, and the MD5 needs no decoding, so this is what tells a video from a damaged or mislabelled file
// before its MD5 is registered, whether or not its pictures can be hashed here.
function looksLikeVideo(head) {
  const text = (start, end) => String.fromCharCode(...head.subarray(start, end));
  const box = text(4, 8);
  if (["ftyp", "moov", "mdat", "free", "wide", "skip"].includes(box)) return true; // MP4, MOV, 3GP
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return true; // WebM, MKV
  if (text(0, 4) === "RIFF" && text(8, 11) === "AVI") return true;
  if (text(0, 3) === "FLV") return true;
  if (head[0] === 0x00 && head[1] === 0x00 && head[2] === 0x01 && (head[3] === 0xba || head[3] === 0xb3)) return true; // MPEG
  if (head[0] === 0x30 && head[1] === 0x26 && head[2] === 0xb2 && head[3] === 0x75) return true; // ASF, WMV
  return head.length >= 189 && head[0] === 0x47 && head[188] === 0x47; // MPEG transport stream
}

export function isVideoFile(file) {
  return (file.type || "").startsWith("video/") || (!file.type && VIDEO_NAME.test(file.name));
}

/**
 * A video's lines: its whole file's MD5, and its frame hashes when this browser can decode its pictures
 * ({lines, note} then says which); or the reason it was not hashed. onProgress(share, phase) runs from 0
 * to 1 over the MD5 ("file") and then the frames ("frames").
 */
export async function videoHashLines(file, texts, onProgress, { maxSeconds = Infinity } = {}) {
  let md5;
  try {
    const head = new Uint8Array(await file.slice(0, 192).arrayBuffer());
    if (!looksLikeVideo(head)) return { reason: texts.notVideo };
    md5 = md5Line(await fileMd5(file, { onProgress: (done, total) => onProgress?.(done / total / 2, "file") }), file.name);
  } catch {
    return { reason: texts.unreadable }; // the file went away or could not be read while hashing
  }
  try {
    const frames = await videoFrameHashes(file, { maxSeconds, onProgress: (share) => onProgress?.(0.5 + share / 2, "frames") });
    if (!frames.some((frame) => frame.quality >= QUALITY_MIN)) {
      // No frame a comparison would use (all too plain: a blank or near-blank video): its MD5 alone.
      return { lines: [md5], note: texts.videoTooPlain.replace("{quality}", String(QUALITY_MIN)) };
    }
    return { lines: [md5, vpdqLine(frames, file.name)], note: texts.videoDone.replace("{frames}", String(frames.length)) };
  } catch (error) {
    // The MD5 still finds the very same file; the page says why the pictures could not be hashed.
    return { lines: [md5], note: error.message === VIDEO_TOO_LONG ? texts.videoTooLong : texts.videoUndecodable };
  }
}

/** What to say about one file: {lines} when it was hashed, {reason} when it was not. */
export async function fileHashLines(file, minQuality, texts) {
  let pixels;
  try {
    pixels = await decodeImage(file);
  } catch (error) {
    // A file that says it is an image but will not decode is damaged; anything else is not an image.
    const claimsImage = (file.type || "").startsWith("image/");
    if (error.message === NOT_AN_IMAGE && !claimsImage) return { reason: texts.notImage };
    return { reason: texts.unreadable };
  }
  const hashes = imageHashes(pixels);
  pixels = null;
  // A low PDQ quality means too little detail (too small, or nearly one colour): such a hash matches
  // unrelated images, and scans ignore PDQ below this quality, so it is not registered.
  if (hashes.quality < minQuality) return { reason: texts.tooPlain.replace("{quality}", String(hashes.quality)) };
  return { lines: hashLines(hashes, file.name), quality: hashes.quality };
}

function enhance(block) {
  const form = block.closest("form");
  const lines = document.querySelector(block.dataset.lines);
  const input = block.querySelector("input[type=file]");
  const progress = block.querySelector("progress");
  const results = block.querySelector("[data-results]");
  const save = block.querySelector("[data-save]");
  const status = block.querySelector("[data-status]");
  if (!form || !lines || !input || typeof createImageBitmap !== "function") return;
  input.removeAttribute("name"); // nothing chosen here may travel with the form
  const submits = [...form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")];
  const minQuality = Number(block.dataset.minQuality) || 0;
  const texts = {
    notImage: block.dataset.notImage, unreadable: block.dataset.unreadable, tooPlain: block.dataset.tooPlain,
    notVideo: block.dataset.notVideo,
    done: block.dataset.done, working: block.dataset.working,
    videoDone: block.dataset.videoDone, videoUndecodable: block.dataset.videoUndecodable,
    videoTooLong: block.dataset.videoTooLong, videoTooPlain: block.dataset.videoTooPlain, workingFrames: block.dataset.workingFrames,
  };
  const maxSeconds = Number(block.dataset.maxSeconds) || Infinity;
  let busy = false;

  const allowSend = () => {
    const empty = lines.value.trim() === "";
    // While hashing, nothing is sent; where lines are required (the portal), not before there are some.
    submits.forEach((button) => { button.disabled = busy || (lines.required && empty); });
    save.hidden = empty;
  };

  input.addEventListener("change", async () => {
    const files = [...input.files];
    if (!files.length) return;
    busy = true;
    allowSend();
    results.replaceChildren();
    progress.max = files.length;
    progress.value = 0;
    progress.hidden = false;
    const found = [];
    for (const [index, file] of files.entries()) {
      status.textContent = texts.working.replace("{name}", file.name);
      const item = document.createElement("li");
      // A video's MD5 reads the whole file and its frames take a seek each: the bar moves with both.
      const onVideoProgress = (share, phase) => {
        progress.value = index + share;
        if (phase === "frames") status.textContent = texts.workingFrames.replace("{name}", file.name);
      };
      const outcome = isVideoFile(file)
        ? await videoHashLines(file, texts, onVideoProgress, { maxSeconds })
        : await fileHashLines(file, minQuality, texts);
      if (outcome.lines) {
        found.push(...outcome.lines);
        item.textContent = `${file.name}: ${outcome.note ?? texts.done}`;
        item.className = "hashed";
      } else {
        item.textContent = `${file.name}: ${outcome.reason}`;
        item.className = "not-hashed";
      }
      results.append(item);
      progress.value = index + 1;
    }
    if (found.length) {
      const kept = lines.value.trim();
      lines.value = (kept ? `${kept}\n` : "") + found.join("\n");
    }
    input.value = ""; // the files themselves are not kept on the page
    status.textContent = "";
    busy = false;
    allowSend();
  });

  lines.addEventListener("input", allowSend);
  save.addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([`${lines.value.trim()}\n`], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = SAVED_NAME;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  form.addEventListener("submit", (event) => {
    if (busy) event.preventDefault(); // half the lines would go
  });
  block.hidden = false;
  allowSend();
}

document.querySelectorAll("[data-hash-register]").forEach(enhance);
