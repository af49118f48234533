// A video's frame hashes in the browser: the file is decoded by a <video> element (no upload: the source
// is an object URL of the chosen File), each frame the engine would sample is reached by seeking and
// drawn on a canvas, and only its signature and hash are kept (video_sampling.js, vpdq.js). Memory stays
// at a frame or two whatever the video's length.
//
// The engine counts time from the video's first frame, at its declared frame rate; a browser's timeline
// may start earlier (an audio track or an edit list that starts first), and it does not tell the frame
// rate. Both are read from the frames themselves: requestVideoFrameCallback gives the presentation time
// of the frame a seek lands on. Frame k is then reached by seeking to the middle of its display time.

import { canvasContext } from "./decode.js";
import { sampleFrames } from "./video_sampling.js";

export const VIDEO_UNDECODABLE = "video-undecodable"; // this browser cannot decode the video's frames
export const VIDEO_TOO_LONG = "video-too-long";
const SEEK_TIMEOUT_MS = 15_000; // a seek that never lands: a damaged stream
const FRAME_CALLBACK_TIMEOUT_MS = 3_000;
const DEFAULT_FPS = 30; // as the engine assumes when a video declares no rate
// Rates cameras and encoders use; a measured rate within 1 % of one of them is taken as the nearest.
const COMMON_FPS = [24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 100, 120, 240];

function once(target, ok, fail, timeoutMs) {
  return new Promise((resolve, reject) => {
    const done = (handler) => (event) => {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener(fail, onFail);
      handler(event);
    };
    const onOk = done(resolve);
    const onFail = done(() => reject(new Error(VIDEO_UNDECODABLE)));
    const timer = setTimeout(onFail, timeoutMs);
    target.addEventListener(ok, onOk);
    target.addEventListener(fail, onFail);
  });
}

// Resolves to the presentation time of the first frame the browser presents that `accept`s it, or null
// after timeoutMs (or at once where the browser has no requestVideoFrameCallback).
function presentedFrame(video, accept, timeoutMs) {
  if (typeof video.requestVideoFrameCallback !== "function") return Promise.resolve(null);
  return new Promise((resolve) => {
    let handle;
    const timer = setTimeout(() => {
      video.cancelVideoFrameCallback?.(handle);
      resolve(null);
    }, timeoutMs);
    const onFrame = (now, metadata) => {
      if (!accept(metadata.mediaTime)) {
        handle = video.requestVideoFrameCallback(onFrame);
        return;
      }
      clearTimeout(timer);
      resolve(metadata.mediaTime);
    };
    handle = video.requestVideoFrameCallback(onFrame);
  });
}

/**
 * Seek to `time`; resolves once the seek is done and a frame that `accept`s its presentation time is
 * presented, to that time (null where the browser does not tell it). "seeked" alone is not enough: a
 * video that is not on the page may still hand the canvas the frame before the seek for a moment
 * (seen here: a stale frame now and then read as a scene cut).
 */
async function seek(video, time, accept = () => true) {
  const presented = presentedFrame(video, accept, FRAME_CALLBACK_TIMEOUT_MS);
  const seeked = once(video, "seeked", "error", SEEK_TIMEOUT_MS);
  video.currentTime = time;
  await seeked;
  return presented;
}

/** The frame rate of frames `frameSeconds` long: the nearest common rate within 1 %, else as measured. */
export function snapFps(frameSeconds) {
  const measured = 1 / frameSeconds;
  const off = (fps) => Math.abs(fps - measured) / fps;
  const nearest = COMMON_FPS.reduce((best, fps) => (off(fps) < off(best) ? fps : best));
  return off(nearest) < 0.01 ? nearest : measured;
}

/**
 * Where the first and the last frame start on the browser's timeline, and the frame rate: the frame
 * shown at 0 is the first; the frame before the one shown half a second later gives one frame's length,
 * roughly (a WebM's times are whole milliseconds: 33 or 34 ms at 30 frames/s), which says how many
 * frames that half second holds, and so the rate.
 */
async function frameTiming(video) {
  const start = await seek(video, 0);
  if (start === null) return { start: 0, fps: DEFAULT_FPS };
  const later = await seek(video, Math.min(start + 0.5, Math.max(start, video.duration - 0.001)), (t) => t > start);
  if (later === null) return { start, fps: DEFAULT_FPS };
  const before = await seek(video, later - 0.0005, (t) => t < later);
  const length = later - (before ?? later);
  if (!(length > 0)) return { start, fps: DEFAULT_FPS };
  const fps = snapFps((later - start) / Math.max(1, Math.round((later - start) / length)));
  // Half a frame before the end, not at it: a seek to the very end now and then presents nothing.
  const last = await seek(video, Math.max(start, video.duration - 0.5 / fps), (t) => t !== before);
  return { start, fps, last };
}

// Some files (a phone's recording, MediaRecorder's WebM) do not say how long they are until the end
// has been reached.
async function knownDuration(video) {
  if (Number.isFinite(video.duration)) return video.duration;
  await seek(video, 1e9);
  return video.duration;
}

/**
 * The sampled frames of a video File or Blob, each {index, t, pdq, quality}, as the engine's scan
 * samples and hashes them. Rejects with Error(VIDEO_UNDECODABLE) when this browser cannot decode the
 * file's frames (an unsupported codec, a damaged file), with Error(VIDEO_TOO_LONG) past maxSeconds.
 */
export async function videoFrameHashes(file, { onProgress, maxSeconds = Infinity, lookAhead = true } = {}) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  const url = URL.createObjectURL(file);
  try {
    const loaded = once(video, "loadeddata", "error", SEEK_TIMEOUT_MS);
    video.src = url;
    await loaded;
    const { videoWidth: width, videoHeight: height } = video;
    if (!width || !height) throw new Error(VIDEO_UNDECODABLE); // an audio-only file, or no frame decoded
    const duration = await knownDuration(video);
    if (!Number.isFinite(duration)) throw new Error(VIDEO_UNDECODABLE);
    if (duration > maxSeconds) throw new Error(VIDEO_TOO_LONG);
    const { start, fps, last } = await frameTiming(video);
    // Counted to the last frame, not to the duration: an audio track may outlast the pictures.
    const count = Math.max(1, Math.round(((last ?? duration - 0.5 / fps) - start) * fps) + 1);
    const context = canvasContext(width, height);
    let shown = last ?? null; // the presentation time of the frame shown last
    const frameAt = async (index) => {
      const due = start + index / fps;
      // The frame due, or any other than the one shown before the seek (a variable frame rate's frames
      // need not sit on the grid).
      const fresh = (t) => t !== shown || Math.abs(t - due) < 0.5 / fps;
      shown = await seek(video, start + (index + 0.5) / fps, fresh);
      context.drawImage(video, 0, 0, width, height);
      return context.getImageData(0, 0, width, height);
    };
    const frames = [];
    for await (const frame of sampleFrames({ count, fps, frameAt, lookAhead })) {
      frames.push({ index: frame.index, t: frame.t, pdq: frame.pdq, quality: frame.quality });
      onProgress?.(Math.min(1, (frame.index + 1) / count));
    }
    return frames;
  } finally {
    video.removeAttribute("src");
    video.load(); // let the decoder and its buffers go now
    URL.revokeObjectURL(url);
  }
}
