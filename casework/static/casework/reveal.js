// Sensitive media is blurred until the viewer chooses to look; a second click blurs it again.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-reveal]");
  if (!button) return;
  const figure = button.closest("[data-sensitive]");
  const image = figure.querySelector("img");
  const label = figure.dataset.label || "Reported media";
  const revealed = image.classList.toggle("blurred") === false;
  image.alt = revealed ? label : `${label}, blurred`;
  button.textContent = revealed ? "Blur media again" : "Show media";
});
