// The proof of work the portal asks for during unusual volume (tickets/customer/proof_of_work.py):
// an ALTCHA challenge, solved as soon as the page loads by ALTCHA's own PBKDF2 worker
// (static/vendor/altcha/pbkdf2.js), out of sight, its answer put in the form's "altcha" field.
// A form sent before the answer is ready waits for it, a few seconds at most; sent without it,
// the request is still stored, held for staff to check first.
(function () {
  "use strict";
  var field = document.getElementById("proof-of-work");
  if (!field || !field.form || !window.Worker || !window.crypto || !window.crypto.subtle) return;
  var form = field.form;
  var challenge = JSON.parse(field.dataset.challenge);
  // Past this, a form sent is sent without the answer rather than keep the customer waiting.
  var WAIT_MS = 8000;
  // Each worker tries every n-th counter from its own start; the one that finds it answers.
  var count = Math.max(2, Math.min(4, navigator.hardwareConcurrency || 2));
  var workers = [];
  var failed = 0;
  var done = false;
  var waiting = [];

  function finish(solution) {
    if (done) return;
    done = true;
    workers.forEach(function (worker) {
      worker.terminate();
    });
    if (solution) {
      var payload = {
        challenge: challenge,
        solution: { counter: solution.counter, derivedKey: solution.derivedKey },
      };
      field.value = window.btoa(JSON.stringify(payload));
      form.dataset.proofOfWork = "solved";
    } else {
      form.dataset.proofOfWork = "failed";
    }
    waiting.splice(0).forEach(function (go) {
      go();
    });
  }

  function workerFailed() {
    failed += 1;
    if (failed === workers.length) finish(null);
  }

  for (var start = 0; start < count; start++) {
    var worker;
    try {
      worker = new Worker(field.dataset.worker);
    } catch (error) {
      break;
    }
    worker.onmessage = function (event) {
      if (event.data && event.data.derivedKey) finish(event.data);
      else workerFailed();
    };
    worker.onerror = workerFailed;
    workers.push(worker);
    worker.postMessage({
      type: "work",
      challenge: challenge,
      counterStart: start,
      counterStep: count,
      timeout: 60000,
    });
  }
  if (!workers.length) finish(null);

  function whenReady(go) {
    if (done) return go();
    var gone = false;
    var once = function () {
      if (gone) return;
      gone = true;
      go();
    };
    waiting.push(once);
    window.setTimeout(once, WAIT_MS);
  }

  // Registered before the form's own script (request_form.js), so that it sends the form only
  // once the answer is in it.
  form.addEventListener("submit", function (event) {
    if (done || form.dataset.proofWaited === "true") return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var submitter = event.submitter;
    whenReady(function () {
      form.dataset.proofWaited = "true";
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    });
  });
})();
