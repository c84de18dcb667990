// Keeps the status page current without a reload; the page also works without it
// (a <noscript> refresh does the same, more coarsely).
(function () {
  "use strict";
  var root = document.getElementById("submission-status");
  if (!root || root.dataset.final === "true") return;
  var url = root.dataset.statusUrl;
  var normalDelay = Number(root.dataset.pollSeconds || 3) * 1000;
  var delay = normalDelay;

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
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        // The server says how soon a change is likely: seconds while sending, a minute while
        // staff have the request.
        normalDelay = Number(state.poll_seconds || 3) * 1000;
        delay = normalDelay;
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
