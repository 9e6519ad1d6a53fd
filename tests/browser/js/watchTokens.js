/* global tokenTexts */
// Stop the clock of a typing test: window.__courseDone becomes the time of the first change of `cell`
// after which its token view spells `expected` (whitespace and the `markers` drawn for it left out),
// once a key has been pressed (noteLastKey.js).
(cell, [expected, markers]) => {
  if (window.__courseObserver) window.__courseObserver.disconnect();
  window.__courseDone = null;
  const visible = (c) => !/\s/u.test(c) && !markers.includes(c);
  const check = () => {
    const joined = [...tokenTexts(cell).join('')].filter(visible).join('');
    if (joined === expected && window.__courseLastKey !== null) {
      window.__courseDone = performance.now();
      window.__courseObserver.disconnect();
    }
  };
  window.__courseObserver = new MutationObserver(check);
  window.__courseObserver.observe(cell, { subtree: true, childList: true, characterData: true });
}
