// The JupyterLab notebook panel showing the file at `path`, or null while there is none.
// `window.jupyterapp` is there because the harness starts JupyterLab with --LabApp.expose_app_in_browser.
(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}
