// The request form: one submission per click, visible progress, and focus on the errors.
// A second click or a refresh is also caught on the server (the signed form token and the
// content), so this script only spares the customer the wait and the doubt.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var progress = document.getElementById("submit-progress");

  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var idleLabel = button ? button.textContent : "";

    form.addEventListener("submit", function (event) {
      // The submit event fires only once the browser's own checks (required, maxlength) pass.
      if (form.dataset.sending === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.sending = "true";
      form.setAttribute("aria-busy", "true");
      if (button) {
        button.disabled = true;
        button.textContent = button.dataset.sendingText || idleLabel;
        var spinner = document.createElement("span");
        spinner.className = "spinner-border spinner-border-sm ms-2";
        spinner.setAttribute("aria-hidden", "true");
        button.appendChild(spinner);
      }
      if (progress) progress.hidden = false;
    });

    // Back to this page from the browser's page cache.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      if (form.dataset.sending === "true") {
        // It was sent: fetch the form anew, with a fresh form token, so that what is sent from
        // it now is a new request and never silently taken for the one already made.
        window.location.reload();
        return;
      }
      form.dataset.sending = "false";
      form.removeAttribute("aria-busy");
      if (button) {
        button.disabled = false;
        button.textContent = idleLabel;
      }
      if (progress) progress.hidden = true;
    });
  });
})();
