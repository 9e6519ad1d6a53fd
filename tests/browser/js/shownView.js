async (cell) => {
  // Every figure in the cell's output, in page order: the SHA-256 of a widget image's bytes, the
  // digest an SVG figure carries (course_lib.show.svg); and the text of every HTML view.
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  const images = [];
  for (const figure of area.querySelectorAll('img.widget-image, .widget-html-content svg[data-digest]')) {
    if (figure.tagName.toLowerCase() === 'svg') { images.push(figure.getAttribute('data-digest')); continue; }
    const bytes = await (await fetch(figure.src)).arrayBuffer();
    images.push(hex(await crypto.subtle.digest('SHA-256', bytes)));
  }
  const texts = Array.from(area.querySelectorAll('.widget-html-content'), (el) =>
    el.textContent.split(/\s+/).filter(Boolean).join(' '));
  return { images, texts };
}
