/* global notebookPanel */
// Shut down the kernel of the notebook at `path`, giving up after 10 s (the page is closed next anyway).
async (path) => {
  const panel = notebookPanel(path);
  if (!panel || !panel.sessionContext.session) return;
  const timeout = new Promise((resolve) => setTimeout(resolve, 10000));
  await Promise.race([panel.sessionContext.shutdown(), timeout]);
}
