/* global outputSnapshot */
(scope, events) => {
  // Note when the learner acts (the first of `events` from now on: a key press, a click...) and what
  // the output shows after each change of the page, so the time to the final state can be looked up.
  const timing = (window.__courseTiming = { armed: performance.now(), acted: null, seen: [] });
  const onEvent = () => { if (timing.acted === null) timing.acted = performance.now(); };
  events.forEach((e) => document.addEventListener(e, onEvent, { capture: true }));
  let last = outputSnapshot(scope);
  const observer = new MutationObserver(() => {
    const now = outputSnapshot(scope);
    if (now !== last) { timing.seen.push([performance.now(), now]); last = now; }
  });
  const watch = { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['src'] };
  observer.observe(scope, watch);
  timing.stop = () => {
    observer.disconnect();
    events.forEach((e) => document.removeEventListener(e, onEvent, { capture: true }));
  };
}
