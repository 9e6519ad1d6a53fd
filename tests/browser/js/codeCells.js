/* global notebookPanel */
// The kernel's status and, for each code cell of the notebook at `path`: its index, whether it is empty,
// its execution count and the errors it shows.
(path) => {
  const panel = notebookPanel(path);
  const kernel = panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const errors = outputs.filter((o) => o.output_type === 'error');
    cells.push({
      index,
      empty: cell.model.sharedModel.getSource().trim() === '',
      count: cell.model.executionCount,
      errors: errors.map((o) => ({ ename: o.ename, evalue: o.evalue, traceback: (o.traceback || []).join('\n') })),
    });
  });
  return { kernel: kernel ? kernel.status : null, cells };
}
