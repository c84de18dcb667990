// Keeps the status page current without a reload; the page also works without it
// (a <noscript> refresh does the same, more coarsely).
(function () {
  "use strict";
  var root = document.getElementById("submission-status");
  if (!root || root.dataset.final === "true") return;
  var url = root.dataset.statusUrl;
  var delay = Number(root.dataset.pollSeconds || 3) * 1000;

  function show(state) {
    document.getElementById("status-headline").textContent = state.headline;
    document.getElementById("status-explanation").textContent = state.explanation;
    if (state.ticket_id) {
      document.getElementById("ticket-id").textContent = state.ticket_id;
      document.getElementById("ticket-numbers").hidden = false;
    }
    if (state.case_number) {
      document.getElementById("case-number").textContent = state.case_number;
      document.getElementById("case-number-row").hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (!state.final) window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A dropped phone connection: try again later, a little slower.
        delay = Math.min(delay * 2, 30000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
