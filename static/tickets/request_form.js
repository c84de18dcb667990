// The request form: one submission per click, visible progress, and focus on the errors.
// A second click, a refresh or a back-and-resubmit is also caught on the server (the signed
// form token), so this script only spares the customer the wait and the doubt.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var progress = document.getElementById("submit-progress");
  var navigation = (performance.getEntriesByType && performance.getEntriesByType("navigation")[0]) || {};

  // Back to a form that was already sent: the browser may fetch the page again (a new form
  // token) yet restore what was typed. Put back the token the form was sent with, so that
  // sending it again leads to the request already made instead of a second one.
  function rememberToken(form) {
    var token = form.elements.form_token;
    var key = "sent-form-token:" + location.pathname;
    try {
      if (navigation.type === "back_forward" && token && sessionStorage.getItem(key)) {
        token.value = sessionStorage.getItem(key);
      }
      form.addEventListener("submit", function () {
        if (token) sessionStorage.setItem(key, token.value);
      });
    } catch (error) {
      // Storage refused (private mode): the server still catches a form sent twice as is.
    }
  }

  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var idleLabel = button ? button.textContent : "";
    rememberToken(form);

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

    // Back to this page from the browser's page cache: make the form usable again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
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
