// The status page reloads itself, but never under a reader who is moving through it with the keyboard.
(() => {
  const seconds = Number(document.currentScript.dataset.seconds) || 30;
  setInterval(() => {
    const reading = document.activeElement && document.activeElement !== document.body;
    if (!reading && !document.hidden) location.reload();
  }, seconds * 1000);
})();
