// Keeps the status page current without a reload; the page also works without it
// (a <noscript> refresh does the same, more coarsely).
(function () {
  "use strict";
  var root = document.getElementById("submission-status");
  if (!root) return;

  var phone = window.PortalPhone;
  // Sent or found on a shared computer: not listed, and no copy of the page kept to open offline
  // (the service worker keeps none of this answer; a copy kept from an earlier visit goes).
  var shared = root.dataset.sharedComputer === "true";
  if (shared && phone) {
    phone.forgetRequest(window.location.pathname);
    phone.forgetKeptPages([window.location.pathname]);
  }

  // Listed among "your requests on this phone" on the portal's other pages; one opened with a
  // code of "Find my request" only kept current if it is listed already.
  function remember() {
    if (!phone || shared) return;
    phone.rememberRequest(
      {
        reference: document.getElementById("reference").textContent,
        url: window.location.pathname,
        service: root.dataset.serviceTitle,
        headline: document.getElementById("status-headline").textContent,
      },
      { onlyKnown: root.dataset.foundByCode === "true" }
    );
  }
  remember();

  // The copy this phone kept, opened with no signal (the service worker marks it): when it was.
  var kept = document.getElementById("status-kept");
  var keptAt = Number(document.documentElement.dataset.keptAt || 0);
  if (kept && keptAt) {
    var when = new Date(keptAt).toLocaleString(document.documentElement.lang || undefined, {
      dateStyle: "medium",
      timeStyle: "short",
    });
    kept.textContent = kept.dataset.text.replace("{time}", when);
    kept.hidden = false;
  }
  if (root.dataset.final === "true") return;
  var url = root.dataset.statusUrl;
  // The server says when to ask again: soon while the request is fresh (a provider that answers
  // at once gives the number within a second of "Send"), then at the pace its state allows.
  var ceiling = Number(root.dataset.pollSeconds || 10) * 1000;
  var delay = Number(root.dataset.pollInMs || ceiling);

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element.textContent !== text) element.textContent = text;
    return element;
  }

  function show(state) {
    setText("status-headline", state.headline);
    setText("status-explanation", state.explanation);
    setText("status-next", state.next_step || "").hidden = !state.next_step;
    setText("status-contact", state.contact || "").hidden = !state.contact;
    if (state.ticket_id) {
      setText("ticket-id", state.ticket_id);
      document.getElementById("ticket-numbers").hidden = false;
      // The provider's number is now the one to quote: the reference steps aside.
      document.getElementById("reference-line").className = "reference-aside";
    }
    if (state.case_number) {
      setText("case-number", state.case_number);
      document.getElementById("case-number-row").hidden = false;
      document.getElementById("ticket-id-row").hidden = true;
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
        if (kept) kept.hidden = true;
        show(state);
        ceiling = Number(state.poll_seconds || 10) * 1000;
        delay = Number(state.poll_in_ms || ceiling);
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
