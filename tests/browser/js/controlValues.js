(cell) => {
  // Every ipywidgets control in the cell's output, in page order: [kind, description, value].
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const text = (el) => (el ? el.textContent.trim() : '');
  const values = [];
  area.querySelectorAll('.widget-slider, .widget-checkbox, .widget-dropdown, .widget-text, .widget-textarea')
    .forEach((box) => {
      if (box.classList.contains('widget-slider')) {
        const readout = box.querySelector('.widget-readout');
        const handle = box.querySelector('[role=slider]');
        const shown = readout && readout.offsetParent !== null ? text(readout) : handle.getAttribute('aria-valuetext');
        values.push(['slider', text(box.querySelector('.widget-label')), shown]);
      } else if (box.classList.contains('widget-checkbox')) {
        values.push(['checkbox', text(box.querySelector('.widget-label-basic')), box.querySelector('input').checked]);
      } else if (box.classList.contains('widget-dropdown')) {
        const select = box.querySelector('select');
        const chosen = select.selectedIndex < 0 ? '' : select.options[select.selectedIndex].textContent;
        // ipywidgets shows an option's spaces as no-break spaces; report the label as the kernel knows it
        values.push(['dropdown', text(box.querySelector('.widget-label')), chosen.replace(/\u00a0/g, ' ')]);
      } else {
        values.push(['text', text(box.querySelector('.widget-label')), box.querySelector('input, textarea').value]);
      }
    });
  return values;
}
