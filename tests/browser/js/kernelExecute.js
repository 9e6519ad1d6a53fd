/* global notebookPanel */
// Run `code` in the kernel of the notebook at `path`, outside any cell; resolve to what it printed and
// its error (null if none). Rejects after `timeoutMs`.
async ([path, code, timeoutMs]) => {
  const panel = notebookPanel(path);
  const kernel = panel && panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  if (!kernel) throw new Error('the notebook has no kernel');
  const future = kernel.requestExecute({ code, silent: false, store_history: false, stop_on_error: false });
  let out = '';
  let error = null;
  future.onIOPub = (msg) => {
    const kind = msg.header.msg_type;
    if (kind === 'stream') out += msg.content.text;
    if (kind === 'error') {
      error = msg.content.ename + ': ' + msg.content.evalue + '\n' + msg.content.traceback.join('\n');
    }
  };
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs));
  await Promise.race([future.done, timeout]);
  return { out, error };
}
