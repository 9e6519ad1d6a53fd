/* global notebookPanel */
// How far the notebook at `path` has got: is the app there, the panel open and loaded, the kernel idle,
// and is a dialog (such as "Select Kernel") in the way?
(path) => {
  const panel = notebookPanel(path);
  const dialog = document.querySelector('.jp-Dialog');
  const kernel = panel && panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  return {
    app: !!window.jupyterapp,
    panel: !!panel,
    ready: !!(panel && panel.context.isReady),
    kernel: kernel ? kernel.status : null,
    dialog: dialog ? dialog.innerText.slice(0, 300) : null,
  };
}
