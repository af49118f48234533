// Decode an image file in the browser to the pixels the engine's decode_image sees: EXIF
// orientation applied (ImageOps.exif_transpose), no colour-profile conversion and no alpha
// premultiplication (Pillow does neither), at the file's natural size (the working copy is made by
// image_hashes.js, not by the canvas, whose scaling differs between browsers).

export const NOT_AN_IMAGE = "not-an-image";

/** RGBA pixels of an image Blob/File: {width, height, data}. Rejects with Error(NOT_AN_IMAGE). */
export async function decodeImage(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch {
    throw new Error(NOT_AN_IMAGE);
  }
  try {
    const { width, height } = bitmap;
    const context = canvasContext(width, height);
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, width, height);
    return { width: pixels.width, height: pixels.height, data: pixels.data };
  } finally {
    bitmap.close();
  }
}

/** A 2D context of a width × height canvas whose pixels are read back (an OffscreenCanvas where there is one). */
export function canvasContext(width, height) {
  const canvas = typeof OffscreenCanvas === "function"
    ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  return canvas.getContext("2d", { willReadFrequently: true });
}
