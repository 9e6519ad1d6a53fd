// The texts of the `.course-token` spans of the first token view in `cell`, in order ([] if it has none).
(cell) => {
  const first = cell.querySelector('.jp-Cell-outputArea .course-token');
  if (!first) return [];
  const view = first.closest('.course-tokens, .widget-html-content, .widget-output, .jp-OutputArea-output') || cell;
  return Array.from(view.querySelectorAll('.course-token'), (s) => s.textContent);
}
