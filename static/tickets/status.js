// Keeps the status page current without a reload; the page also works without it
// (a <noscript> refresh does the same, more coarsely).
(function () {
  "use strict";
  var root = document.getElementById("submission-status");
  if (!root) return;

  // Listed among "your requests on this phone" on the portal's other pages.
  function remember() {
    if (!window.PortalPhone) return;
    window.PortalPhone.rememberRequest({
      reference: document.getElementById("reference").textContent,
      url: window.location.pathname,
      service: root.dataset.serviceTitle,
      headline: document.getElementById("status-headline").textContent,
    });
  }
  remember();
  if (root.dataset.final === "true") return;
  var url = root.dataset.statusUrl;
  // Ask soon after "Send" (a provider that answers at once gives the number within a second),
  // then less and less often, up to the pace the server names: a few seconds while the request
  // is on its way, a minute while it waits for staff.
  var FIRST_DELAY = 400;
  var GROWTH = 1.6;
  var ceiling = Number(root.dataset.pollSeconds || 10) * 1000;
  var delay = FIRST_DELAY;

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element.textContent !== text) element.textContent = text;
    return element;
  }

  function show(state) {
    setText("status-headline", state.headline);
    setText("status-explanation", state.explanation);
    setText("status-next", state.next_step || "").hidden = !state.next_step;
    if (state.ticket_id) {
      setText("ticket-id", state.ticket_id);
      document.getElementById("ticket-numbers").hidden = false;
    }
    if (state.case_number) {
      setText("case-number", state.case_number);
      document.getElementById("case-number-row").hidden = false;
    }
    root.dataset.status = state.status;
    root.dataset.final = state.final ? "true" : "false";
    document.getElementById("status-updates").hidden = state.final;
    remember();
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        ceiling = Number(state.poll_seconds || 10) * 1000;
        delay = Math.min(delay * GROWTH, ceiling);
        if (!state.final) window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A dropped phone connection: try again later, a little slower.
        delay = Math.min(Math.max(delay, ceiling) * 2, 60000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
