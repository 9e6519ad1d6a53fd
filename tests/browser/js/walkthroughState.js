(cell) => {
  // The walkthrough in the cell's output, as the page shows it: the step its detail shows (index, key,
  // title, equation), each tensor figure of that step (name, shape, source, the last position's values),
  // the status line, and the fill the page paints on each part of the drawing of the model.
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const text = (selector) => {
    const el = area.querySelector(selector);
    return el ? el.textContent.split(/\s+/).filter(Boolean).join(' ') : '';
  };
  const step = area.querySelector('.course-walk-step');
  const tensors = Array.from(area.querySelectorAll('.course-walk-step .course-walk-tensor'), (el) => ({
    name: el.dataset.name || '',
    shape: el.dataset.shape ? el.dataset.shape.split(',').map(Number) : [],
    source: el.dataset.source || '',
    last: el.dataset.last ? JSON.parse(el.dataset.last) : null,
  }));
  const boxes = area.querySelectorAll('.course-walk-machine g.course-walk-part > rect.course-walk-box');
  return {
    index: step ? Number(step.dataset.step) : null,
    key: step ? step.dataset.key : null,
    title: text('.course-walk-title'),
    equation: text('.course-walk-equation'),
    status: text('.course-walk-status'),
    tensors,
    fills: Array.from(boxes, (box) => getComputedStyle(box).fill),
  };
}
