// The request form on a phone: photos made small before they are sent, a draft kept on the phone
// as the customer types, and a send in the background that shows its progress and outlasts a
// dropped line (static/tickets/phone.js). Without this script the form is a plain form; a second
// click or a refresh is also caught on the server (the signed form token and the content).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary") || document.getElementById("already-sent");
  if (summary) summary.focus();

  var form = document.querySelector("form[data-submit-once]");
  var status = document.getElementById("send-status");
  var phone = window.PortalPhone;
  if (!form || !status) return;
  var texts = status.dataset;
  // The words every portal page shares for a send kept on the phone (base.html).
  var pendingTexts = (document.getElementById("phone-pending") || status).dataset;
  var message = document.getElementById("send-message");
  var bar = document.getElementById("send-progress");
  var barText = document.getElementById("send-progress-text");
  var button = form.querySelector("button[type=submit]");
  var idleLabel = button ? button.textContent : "";
  var key = window.location.pathname;
  var canSendInBackground = Boolean(phone && window.FormData && window.Promise);
  // Values the server puts in the form itself, and the page's own choice: never in a draft.
  var MACHINERY =
    /^(csrfmiddlewaretoken|form_token|website|send_again|altcha|shared_computer|.*_kept)$/;
  // "This is a shared or public computer": no draft, no pending copy, no list entry.
  var sharedBox = document.getElementById("shared-computer");
  function keepNothing() {
    return Boolean(sharedBox && sharedBox.checked);
  }

  // --- photos made small ---------------------------------------------------------------------
  var MAX_SIDE = Number(texts.photoMaxSide);
  var TARGET_BYTES = Number(texts.photoTargetBytes);
  var THUMBNAIL_SIDE = 96;
  var preparing = {};
  // The file to send for each file field, by name: the input's own where the browser lets a
  // script put a file in it (DataTransfer), else kept here (Safari before 14.1).
  var chosen = {};

  function isPicture(file) {
    return /^image\/(jpeg|png)$/.test(file.type) || /\.(jpe?g|png)$/i.test(file.name);
  }

  // Decoded upright: the camera's orientation (EXIF) applied, as the photo is seen. Browsers
  // that know createImageBitmap but not this option (Firefox before 111) refuse it: then as an
  // <img>, which every browser now shows upright.
  function decode(file) {
    if (!window.createImageBitmap) return decodeAsImage(file);
    return window
      .createImageBitmap(file, { imageOrientation: "from-image" })
      .catch(function () {
        return decodeAsImage(file);
      });
  }

  function decodeAsImage(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var image = new Image();
        image.onload = function () {
          resolve(image);
        };
        image.onerror = reject;
        image.src = reader.result;
      };
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
  }

  function drawn(image, longSide) {
    var scale = Math.min(1, longSide / Math.max(image.width, image.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(image.width * scale));
    canvas.height = Math.max(1, Math.round(image.height * scale));
    var context = canvas.getContext("2d");
    // A transparent PNG becomes a JPEG on white, not on black.
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function jpeg(canvas, quality) {
    return new Promise(function (resolve) {
      canvas.toBlob(resolve, "image/jpeg", quality);
    });
  }

  function jpegName(name) {
    var base = name.replace(/\.[^.]*$/, "") || "photo";
    return base + ".jpg";
  }

  // The picture to send: re-encoded (which leaves its metadata behind: no GPS, no device) and
  // scaled to MAX_SIDE when it is large; as it is when it is already small or not a picture.
  function shrink(file) {
    if (!isPicture(file) || !window.HTMLCanvasElement) {
      return Promise.resolve({ file: file });
    }
    return decode(file).then(function (image) {
      var thumbnail = drawn(image, THUMBNAIL_SIDE).toDataURL("image/jpeg", 0.7);
      if (Math.max(image.width, image.height) <= MAX_SIDE && file.size <= TARGET_BYTES) {
        return { file: file, thumbnail: thumbnail };
      }
      var canvas = drawn(image, MAX_SIDE);
      if (image.close) image.close();
      // Less quality only as far as the size needs: a busy photo (a shop counter, a receipt)
      // compresses worse than a wall.
      function smallEnough(quality) {
        return function (blob) {
          return blob && blob.size > TARGET_BYTES ? jpeg(canvas, quality) : blob;
        };
      }
      return jpeg(canvas, 0.82)
        .then(smallEnough(0.7))
        .then(smallEnough(0.55))
        .then(function (blob) {
          if (!blob || blob.size >= file.size) return { file: file, thumbnail: thumbnail };
          var smaller = new File([blob], jpegName(file.name), {
            type: "image/jpeg",
            lastModified: file.lastModified,
          });
          return { file: smaller, thumbnail: thumbnail, originalSize: file.size };
        });
    });
  }

  function putFile(input, file) {
    chosen[input.name] = file;
    try {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
    } catch (error) {
      // An older browser: the input keeps what the customer chose; ``chosen`` is what goes.
    }
  }

  // The form's values with the files to send in place of what the inputs hold.
  function formData() {
    var data = new FormData(form);
    fileInputs.forEach(function (input) {
      var file = chosen[input.name];
      if (file && !(input.files && input.files[0] === file)) data.set(input.name, file, file.name);
    });
    return data;
  }

  // "{name}" and the like in a translated text; a function, so that "$&" in a file name stays.
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (placeholder, name) {
      return name in values ? values[name] : placeholder;
    });
  }

  function preview(input) {
    return document.getElementById(input.id + "_preview");
  }

  function showFile(input, prepared) {
    var box = preview(input);
    if (!box) return;
    var image = box.querySelector("img");
    var caption = box.querySelector(".file-preview-text");
    caption.classList.remove("text-danger");
    if (!prepared) {
      box.hidden = true;
      return;
    }
    image.hidden = !prepared.thumbnail;
    if (prepared.thumbnail) image.src = prepared.thumbnail;
    var text = fill(texts.fileReadyText, {
      name: prepared.file.name,
      size: phone ? phone.formatBytes(prepared.file.size) : "",
    });
    if (prepared.originalSize) {
      text += " " + fill(texts.photoSmallerText, { size: phone.formatBytes(prepared.originalSize) });
    }
    caption.textContent = text;
    box.hidden = false;
  }

  // Too big even after a photo was made small: said now, before a minute of upload that the
  // portal would refuse (it checks again all the same).
  var LIMIT_BYTES = Number(texts.attachmentMaxBytes) || Infinity;
  function refuse(input, file) {
    input.value = "";
    delete chosen[input.name];
    var box = preview(input);
    if (!box) return;
    box.querySelector("img").hidden = true;
    var caption = box.querySelector(".file-preview-text");
    caption.textContent = fill(texts.fileTooBigText, {
      name: file.name,
      size: phone ? phone.formatBytes(file.size) : "",
      limit: phone ? phone.formatBytes(LIMIT_BYTES) : "",
    });
    caption.classList.add("text-danger");
    box.hidden = false;
  }

  // Chosen by the customer (from the camera or the gallery) or put back from the draft.
  function prepare(input, file) {
    var box = preview(input);
    if (box && isPicture(file)) {
      box.querySelector(".file-preview-text").textContent = texts.photoPreparingText;
      box.querySelector("img").hidden = true;
      box.hidden = false;
    }
    var done = shrink(file)
      .catch(function () {
        return { file: file }; // a picture this browser cannot decode goes as it is
      })
      .then(function (prepared) {
        delete preparing[input.name];
        if (prepared.file.size > LIMIT_BYTES) {
          refuse(input, prepared.file);
          return prepared;
        }
        putFile(input, prepared.file);
        showFile(input, prepared);
        return prepared;
      });
    preparing[input.name] = done;
    return done;
  }

  // --- how much text fits ----------------------------------------------------------------------
  // A box of free text shows how much of its limit is used; text pasted past the limit (which
  // the browser cuts without a word) is said to have been cut.
  form.querySelectorAll("textarea[maxlength]").forEach(function (box) {
    var max = Number(box.getAttribute("maxlength"));
    var counter = document.createElement("div");
    counter.className = "form-text char-count";
    counter.id = box.id + "_count";
    box.insertAdjacentElement("afterend", counter);
    var cut = false;
    function count() {
      var text = fill(texts.charCountText, { count: box.value.length, max: max });
      if (cut) text += " " + fill(texts.charCutText, { max: max });
      counter.textContent = text;
      counter.classList.toggle("text-danger", cut);
    }
    box.addEventListener("paste", function (event) {
      var pasted = (event.clipboardData || window.clipboardData).getData("text") || "";
      var kept = box.value.length - (box.selectionEnd - box.selectionStart);
      cut = kept + pasted.length > max;
      // Said out loud once, when it happens, not at every key.
      counter.setAttribute("aria-live", cut ? "assertive" : "off");
    });
    box.addEventListener("input", function (event) {
      if (event.inputType !== "insertFromPaste") cut = false;
      count();
    });
    count();
  });

  var fileInputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
  fileInputs.forEach(function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) {
        delete chosen[input.name];
        showFile(input, null);
        saveDraftSoon();
        return;
      }
      prepare(input, file).then(saveDraftSoon);
    });
  });

  function photosReady() {
    return Promise.all(
      Object.keys(preparing).map(function (name) {
        return preparing[name];
      })
    );
  }

  // --- the draft kept on the phone -------------------------------------------------------------
  var draftBar = document.getElementById("phone-draft");
  var saveTimer = null;

  // The files of the draft found on opening: a file the server keeps for the customer (its
  // "keep the file you chose" box ticked) is not in its input, and must stay in the draft.
  var draftFiles = [];

  function draftOf() {
    var fields = [];
    var files = [];
    formData().forEach(function (value, name) {
      if (MACHINERY.test(name)) return;
      if (typeof value === "string") fields.push([name, value]);
      else if (value.size) files.push([name, value, value.name]);
    });
    draftFiles.forEach(function (saved) {
      var kept = form.querySelector('input[name="' + saved[0] + '_kept"]');
      var chosen = files.some(function (file) {
        return file[0] === saved[0];
      });
      if (kept && kept.checked && !chosen) files.push(saved);
    });
    return { key: key, fields: fields, files: files };
  }

  // While a send is under way only the send itself saves (``force``): a save left pending
  // could otherwise bring back the draft of a request already stored.
  function saveDraft(force) {
    if (!phone || keepNothing() || (form.dataset.sending === "true" && !force)) {
      return Promise.resolve();
    }
    var draft = draftOf();
    var empty = draft.files.length === 0 && draft.fields.every(function (field) {
      return !field[1];
    });
    if (empty) return Promise.resolve();
    return phone.drafts
      .put(draft)
      .then(function () {
        if (draftBar && !keepNothing()) draftBar.hidden = false;
      })
      .catch(function () {});
  }

  function saveDraftSoon() {
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(saveDraft, 400);
  }

  function restore(draft) {
    var values = {};
    draft.fields.forEach(function (field) {
      (values[field[0]] = values[field[0]] || []).push(field[1]);
    });
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || MACHINERY.test(element.name) || element.type === "file") return;
      var saved = values[element.name] || [];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = saved.indexOf(element.value) !== -1;
      } else if (saved.length && element.tagName !== "BUTTON") {
        element.value = saved[0];
      } else {
        return;
      }
      // The map follows its fields; other scripts see what a person's typing would do.
      element.dispatchEvent(new Event("input", { bubbles: true }));
    });
    draft.files.forEach(function (saved) {
      var input = form.querySelector('input[type=file][name="' + saved[0] + '"]');
      if (!input) return;
      var file = new File([saved[1]], saved[2], { type: saved[1].type });
      putFile(input, file);
      prepare(input, file);
    });
  }

  function loadDraft() {
    return phone.drafts
      .get(key)
      .then(function (draft) {
        if (!draft) return;
        draftFiles = draft.files;
        if (form.dataset.bound !== "true") restore(draft);
        if (draftBar) draftBar.hidden = false;
      })
      .catch(function () {});
  }

  function forgetDraft() {
    window.clearTimeout(saveTimer);
    draftFiles = [];
    if (draftBar) draftBar.hidden = true;
    return phone ? phone.drafts.remove(key).catch(function () {}) : Promise.resolve();
  }

  if (sharedBox) {
    sharedBox.addEventListener("change", function () {
      if (keepNothing()) forgetDraft();
      else saveDraftSoon();
    });
  }

  // A send of this form left pending (the tab was closed, the phone switched off): this tab's
  // own is finished; one this tab did not start is asked about first, and what it holds stays
  // out of the form until the answer says it is this customer's.
  function finishPending(entry) {
    showSending();
    form.inert = true;
    say(pendingTexts.sendingText);
    phone.send(entry, handlers);
  }

  if (phone && keepNothing()) {
    forgetDraft();
  } else if (phone) {
    phone.outbox
      .get(key)
      .catch(function () {
        return null;
      })
      .then(function (entry) {
        if (!entry || !canSendInBackground) return loadDraft();
        return phone.askAbout(entry).then(function (choice) {
          // Not this customer's to see: the question closed, or another tab sending it.
          if (choice === "later" || choice === "elsewhere") return null;
          return loadDraft().then(function () {
            if (choice === "send") finishPending(entry);
          });
        });
      });
  }
  form.addEventListener("input", saveDraftSoon);
  form.addEventListener("change", saveDraftSoon);
  // Android may drop a tab in the background without a word: save when it goes out of sight.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveDraft();
  });

  var startAgain = document.getElementById("phone-draft-clear");
  if (startAgain && phone) {
    startAgain.addEventListener("click", function () {
      window.clearTimeout(saveTimer);
      form.dataset.sending = "true"; // no save while the empty form is fetched
      // A send still waiting for the signal is given up too: the customer starts again.
      Promise.all([phone.drafts.remove(key), phone.outbox.remove(key)])
        .catch(function () {})
        .then(function () {
          window.location.replace(key);
        });
    });
  }

  // --- sending -------------------------------------------------------------------------------
  function say(text) {
    status.hidden = false;
    if (message.textContent !== text) message.textContent = text;
  }

  // The button says what the send is doing: spinning while bytes move, still while the phone
  // has no signal (a spinner then would claim a progress that is not happening).
  function label(text, spinning) {
    if (!button) return;
    if (button.dataset.shown === text) return;
    button.dataset.shown = text;
    button.textContent = text;
    if (!spinning) return;
    var spinner = document.createElement("span");
    spinner.className = "spinner-border spinner-border-sm ms-2";
    spinner.setAttribute("aria-hidden", "true");
    button.appendChild(spinner);
  }

  function showSending() {
    form.dataset.sending = "true";
    form.setAttribute("aria-busy", "true");
    if (button) {
      button.disabled = true;
      label(button.dataset.sendingText || idleLabel, true);
    }
    status.hidden = false;
  }

  function showWaiting() {
    if (button) label(button.dataset.waitingText || idleLabel, false);
  }

  function showProgress(sent, total) {
    var percent = total ? Math.min(100, Math.round((sent / total) * 100)) : 0;
    bar.hidden = false;
    bar.value = percent;
    bar.textContent = percent + "%";
    barText.textContent =
      percent +
      "% · " +
      fill(texts.progressText, { sent: phone.formatBytes(sent), total: phone.formatBytes(total) });
  }

  var handlers = {
    progress: function (sent, total) {
      showSending();
      say(texts.sendingText);
      showProgress(sent, total);
    },
    stalled: function () {
      say(texts.stalledText);
    },
    waiting: function () {
      showWaiting();
      say(pendingTexts.waitingText);
    },
    stored: function (answer) {
      say(texts.doneText);
      if (sentKeepingNothing) {
        // In place of the form in the history: Back does not return to what was typed.
        window.location.replace(answer.status_url);
        return;
      }
      phone.rememberRequest({
        reference: answer.reference,
        url: answer.status_url,
        service: texts.serviceTitle,
      });
      window.location.assign(answer.status_url);
    },
    answered: function (html) {
      phone.showAnswer(html);
    },
  };

  // Whether the send under way was made with "shared or public computer" ticked.
  var sentKeepingNothing = false;

  function sendInBackground(submitter) {
    showSending();
    say(texts.sendingText);
    window.clearTimeout(saveTimer);
    sentKeepingNothing = keepNothing();
    photosReady()
      .then(function () {
        return sentKeepingNothing ? forgetDraft() : saveDraft(true);
      })
      .then(function () {
        var entry = {
          key: key,
          url: form.action || key,
          fields: [],
          files: [],
          // Who started it, and what the question to any other tab names: nothing typed.
          tab: phone.tab,
          service: texts.serviceTitle,
          // Opened from the copy the service worker kept: its tokens are renewed before it goes.
          needsTokens: Boolean(document.documentElement.dataset.keptAt),
        };
        var data = formData();
        if (submitter && submitter.name) data.append(submitter.name, submitter.value);
        data.forEach(function (value, name) {
          if (typeof value === "string") entry.fields.push([name, value]);
          else if (value.size || value.name) entry.files.push([name, value, value.name]);
        });
        // What is sent is fixed now: later edits would be lost without a word.
        form.inert = true;
        if (sharedBox) sharedBox.disabled = true;
        // On a shared computer it goes from this page only, tried again while the page is open.
        if (sentKeepingNothing) return entry;
        // Kept before the first byte goes: a closed tab or a dead battery does not lose it.
        return phone.outbox
          .put(entry)
          .catch(function () {})
          .then(function () {
            return entry;
          });
      })
      .then(function (entry) {
        phone.send(entry, handlers);
      });
  }

  // The button pressed, for browsers whose submit event does not say (Safari before 15.4).
  var pressed = null;
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button[type=submit]") : null;
    if (target) pressed = target;
  });

  form.addEventListener("submit", function (event) {
    if (form.dataset.sending === "true") {
      event.preventDefault();
      return;
    }
    if (!canSendInBackground) {
      showSending();
      say(texts.sendingText);
      return; // the browser sends the form itself
    }
    event.preventDefault();
    sendInBackground(event.submitter || pressed);
  });

  // Back to this page from the browser's page cache.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted || form.dataset.sending !== "true") return;
    // It was sent: fetch the form anew, with a fresh form token, so that what is sent from it
    // now is a new request and never silently taken for the one already made.
    window.location.reload();
  });
})();
