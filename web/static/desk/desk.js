// The desk's one script (the pages allow no inline script). It signs in, keeps the live
// indicator, and shows the server's own page when a live refresh is refused.
(function () {
  "use strict";

  // A sign-in page posts its one-time link at once: opening the link's page changes
  // nothing, so a link preview cannot use it up; without scripts a button posts it.
  const signin = document.querySelector("form[data-autosubmit]");
  if (signin) signin.submit();

  // The Mini App: Telegram passes its signed data after "#", which only this page sees.
  const miniapp = document.getElementById("miniapp-form");
  if (miniapp) {
    const data = new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData");
    if (data) {
      miniapp.elements.namedItem("init_data").value = data;
      miniapp.submit();
    } else {
      document.getElementById("miniapp-opening").hidden = true;
      document.getElementById("miniapp-outside").hidden = false;
    }
  }

  const status = document.getElementById("live-status");
  function live(on) {
    if (!status) return;
    status.dataset.live = on ? "1" : "0";
    status.textContent = on ? status.dataset.on : status.dataset.off;
  }
  document.body.addEventListener("htmx:sseOpen", () => live(true));
  document.body.addEventListener("htmx:sseError", () => {
    live(false);
    // Refused for good (signed out elsewhere, role revoked)? Show why.
    const desk = document.querySelector("[data-desk]");
    if (!desk) return;
    fetch(desk.dataset.desk + "/", { redirect: "manual", credentials: "same-origin" })
      .then((response) => {
        if (response.status === 401 || response.status === 403) window.location.reload();
      })
      .catch(() => {});
  });

  // A refresh or an action the server refused (signed out, role revoked, page expired):
  // the whole page is reloaded so the server's explanation shows.
  document.body.addEventListener("htmx:responseError", (event) => {
    const code = event.detail.xhr.status;
    if (code === 401 || code === 403) window.location.reload();
  });
})();
