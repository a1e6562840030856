// warmstart dashboard: refresh the live section from the server every few seconds.
// The page works without this script; it only saves reloading by hand.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live || !window.fetch) {
    return;
  }
  const url = live.dataset.refresh;
  const every = Math.max(parseInt(live.dataset.refreshMs, 10) || 5000, 250);

  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 || response.status === 403) {
        window.location.assign("/"); // signed out: show the sign-in form
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      live.innerHTML = await response.text();
      live.classList.remove("stale");
      window.setTimeout(refresh, every);
    } catch (error) {
      live.classList.add("stale"); // keep the last numbers, dimmed, and try again a little later
      window.setTimeout(refresh, every * 2);
    }
  }

  window.setTimeout(refresh, every);
})();
