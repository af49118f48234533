// Sensitive media is blurred by the server until the viewer chooses to look: the page holds a blurred
// rendering, never the original (casework.services.reveals). "Show media" is a form that records the
// choice (an audit event) and reloads the page with the original; this script does the same without
// the reload: it records the choice, then swaps in the original, which the server now sends to this
// session. If the choice cannot be recorded, the media stays blurred. A second press blurs it again,
// here at once and on the server for the next page.
//
// Its words come from the figure's data-text-* attributes (templates/casework/_sensitive_media.html), which
// the server writes in the reader's language; the English here is only for a figure without them.
function text(figure, name, fallback) {
  return figure.dataset[name] || fallback;
}

function csrfToken(form) {
  const input = form.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function show(figure, form, revealed) {
  const label = figure.dataset.label || "Reported media";
  const blurredAlt = text(figure, "textBlurredAlt", `${label}, blurred`);
  const current = figure.querySelector("img, video");
  const source = revealed ? figure.dataset.originalSrc : figure.dataset.blurredSrc;
  if ("video" in figure.dataset && revealed) {
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "metadata";
    video.src = source;
    current.replaceWith(video);
  } else {
    let image = current;
    if (image.tagName !== "IMG") {
      image = document.createElement("img");
      current.replaceWith(image);
    }
    if (!revealed) image.classList.add("blurred");
    image.src = source;
    image.alt = revealed ? label : blurredAlt;
    if (revealed) {
      try {
        await image.decode(); // the original is on screen before the extra CSS blur comes off
      } catch {
        // an image that cannot be decoded shows as broken either way
      }
      image.classList.remove("blurred");
    }
  }
  figure.toggleAttribute("data-revealed", revealed);
  form.querySelector("[data-reveal]").textContent = revealed
    ? text(figure, "textHide", "Blur media again") : text(figure, "textShow", "Show media");
  const caption = figure.querySelector("[data-reveal-state]");
  if (caption) {
    caption.textContent = revealed
      ? text(figure, "textShown", "Shown because you chose to look.") : text(figure, "textBlurred", "Sensitive media is blurred.");
  }
}

async function record(form, hide) {
  const body = new URLSearchParams({ what: form.elements.what.value });
  if (hide) body.set("hide", "1");
  const response = await fetch(form.action, {
    method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(form) },
  });
  if (!response.ok) throw new Error(`reveal answered ${response.status}`);
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("[data-reveal-form]");
  if (!form) return;
  event.preventDefault();
  const figure = form.closest("[data-sensitive]");
  const button = form.querySelector("[data-reveal]");
  const revealing = !("revealed" in figure.dataset);
  button.disabled = true;
  try {
    if (revealing) {
      await record(form, false);
      await show(figure, form, true);
    } else {
      await show(figure, form, false); // blur first: hiding never waits for the network
      await record(form, true);
    }
  } catch {
    if (revealing) button.textContent = text(figure, "textFailed", "Could not record this; try again");
  } finally {
    button.disabled = false;
  }
});
