// Sensitive media is blurred until the viewer chooses to look; a second click blurs it again.
// Where the figure names a reveal URL, the choice is recorded there (an audit event) before the
// media is shown; if it cannot be recorded, the media stays blurred.
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function show(figure, button, revealed) {
  const image = figure.querySelector("img");
  const label = figure.dataset.label || "Reported media";
  image.classList.toggle("blurred", !revealed);
  image.alt = revealed ? label : `${label}, blurred`;
  button.textContent = revealed ? "Blur media again" : "Show media";
  const caption = figure.querySelector("[data-reveal-state]");
  if (caption) caption.textContent = revealed ? "Shown because you chose to look." : "Sensitive media is blurred.";
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-reveal]");
  if (!button) return;
  const figure = button.closest("[data-sensitive]");
  const image = figure.querySelector("img");
  const revealing = image.classList.contains("blurred");
  if (!revealing || !figure.dataset.revealUrl) {
    show(figure, button, revealing);
    return;
  }
  button.disabled = true;
  try {
    const body = new URLSearchParams({ what: figure.dataset.revealWhat || "media" });
    const response = await fetch(figure.dataset.revealUrl, {
      method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() },
    });
    if (response.ok) show(figure, button, true);
    else button.textContent = "Could not record this; try again";
  } catch {
    button.textContent = "Could not record this; try again";
  } finally {
    button.disabled = false;
  }
});
