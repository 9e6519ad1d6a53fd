/* global notebookPanel */
// The source of code cell number `index` (counted in page order) of the notebook at `path`.
([path, index]) => {
  const panel = notebookPanel(path);
  const cells = Array.from(panel.content.node.querySelectorAll('.jp-CodeCell'));
  const widget = panel.content.widgets.find((w) => w.node === cells[index]);
  if (!widget) throw new Error('no code cell at index ' + index);
  return widget.model.sharedModel.getSource();
}
