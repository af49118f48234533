// An optional drawn signature: the canvas's PNG goes into the form's hidden signature_image field.
// The typed name with the signer's agreement is the signature in law; this only adds its picture.
document.addEventListener("DOMContentLoaded", () => {
  const pad = document.querySelector("[data-signature-pad]");
  if (!pad) return;
  const canvas = pad.querySelector("canvas");
  const field = pad.closest("form").querySelector("input[name=signature_image]");
  const pen = canvas.getContext("2d");
  pen.lineWidth = 2;
  pen.lineCap = "round";
  let drawing = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    pen.beginPath();
    pen.moveTo(...at(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    pen.lineTo(...at(event));
    pen.stroke();
  });
  canvas.addEventListener("pointerup", () => {
    drawing = false;
    field.value = canvas.toDataURL("image/png");
  });
  pad.querySelector("[data-signature-clear]").addEventListener("click", () => {
    pen.clearRect(0, 0, canvas.width, canvas.height);
    field.value = "";
  });
});
