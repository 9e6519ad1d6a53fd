// Start the clock of a typing test: from now on, window.__courseLastKey holds when `el` last saw a key go down.
(el) => {
  window.__courseLastKey = null;
  el.addEventListener('keydown', () => { window.__courseLastKey = performance.now(); }, { capture: true });
}
