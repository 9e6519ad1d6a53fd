/* global outputSnapshot */
// Whether the output of `el` now shows something other than the snapshot `before` (polled by Playwright).
([el, before]) => outputSnapshot(el) !== before
