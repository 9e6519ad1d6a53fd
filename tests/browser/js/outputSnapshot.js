(scope) => {
  // What an output shows, without the controls themselves (a moved slider's readout is not "output").
  // For a whole cell, only its output area: the code editor re-renders lines as the page scrolls.
  const root = scope.classList.contains('jp-Cell') ? scope.querySelector('.jp-Cell-outputArea') || scope : scope;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('input, textarea, select, button, .widget-readout, .slider-container, .widget-label')
    .forEach((n) => n.remove());
  const images = Array.from(clone.querySelectorAll('img'), (i) => i.getAttribute('src') || '');
  const svgs = Array.from(clone.querySelectorAll('svg'), (s) =>
    (s.getAttribute('data-digest') || s.outerHTML.length) + ':' + s.textContent);
  return [clone.textContent, ...images, ...svgs].join('\n');
}
