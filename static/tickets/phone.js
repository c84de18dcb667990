// What the customer's phone keeps for them, and the sending that outlasts a dropped line.
//
// - Drafts and sends under way live in IndexedDB (files included), one of each per form, keyed
//   by the form's path; both are forgotten after KEEP_DAYS. A send is kept until the portal has
//   answered it, so closing the tab, losing the signal or a dropped upload never loses it. The tab
//   that started it (sessionStorage knows the tab) finishes it on its next page; any other page
//   asks first whether to send or discard it: on a shared computer it may be someone else's.
// - A send goes in the background (XMLHttpRequest, for upload progress) with its form token, so
//   sending the same thing again is one request on the server however often the line drops.
// - The requests sent from this browser are listed from localStorage: references and links only,
//   each for the days the page says (MY_REQUESTS_KEEP_DAYS).
// - The service worker (tickets/customer/offline.py) is registered here; where the browser has
//   Background Sync it finishes a send kept here with no page open, and notes the answer in the
//   "sent" store, which the next page moves into the list.
// - "This is a shared or public computer" ticked: nothing of that customer is kept (no draft, no
//   pending copy, no list entry, no copy of the status page in the service worker), and the
//   browser is asked not to remember what is typed (autocomplete off).
// Nothing here is needed: without IndexedDB or JavaScript the forms work as plain forms.
(function () {
  "use strict";
  // The page as it came, before any script changed it (phone.js runs first): for the service
  // worker to keep when it did not see the page come (the first visit), so nothing is fetched
  // again. Typed values are not in it: the markup holds attributes only.
  // Never an answer to a post shown in its place (showAnswer): that is not a page to keep; nor
  // a status page sent or found on a shared computer.
  var pageAsItCame =
    navigator.serviceWorker &&
    !navigator.serviceWorker.controller &&
    !window.portalAnswerShown &&
    !document.querySelector("[data-shared-computer=true]")
      ? "<!doctype html>\n" + document.documentElement.outerHTML
      : null;
  var DAY_MS = 24 * 3600 * 1000;
  var KEEP_DAYS = 3;
  var KEEP_MS = KEEP_DAYS * DAY_MS;
  // Waits between tries while the line is down; the browser's "online" event cuts them short.
  var RETRY_SECONDS = [2, 4, 8, 15];
  // No byte moved for this long: say the line is slow; for the longer one: start again.
  var STALL_MS = 8000;
  var GIVE_UP_MS = 60000;
  var REQUESTS_KEY = "support-portal.requests";
  var REQUESTS_KEPT = 20;
  // As the service worker has them (templates/tickets/service-worker.js).
  var DATABASE_VERSION = 2;
  var STORES = ["drafts", "outbox", "sent"];
  var SYNC_TAG = "portal-outbox";
  var keepDays = Number(document.body.dataset.myRequestsKeepDays);
  var REQUESTS_KEEP_MS = (isNaN(keepDays) ? 30 : keepDays) * DAY_MS;

  // This tab's own mark on the sends it starts: kept for the tab's life (reloads included).
  var TAB_KEY = "support-portal.tab";
  var tab = String(Date.now()) + "-" + Math.random().toString(36).slice(2);
  try {
    tab = window.sessionStorage.getItem(TAB_KEY) || tab;
    window.sessionStorage.setItem(TAB_KEY, tab);
  } catch (error) {
    // No sessionStorage: this page alone counts as the tab, so other pages ask.
  }

  // --- IndexedDB ---------------------------------------------------------------------------
  var database = null;

  function openDatabase() {
    if (database) return database;
    database = new Promise(function (resolve, reject) {
      if (!window.indexedDB) {
        reject(new Error("no IndexedDB"));
        return;
      }
      var request = window.indexedDB.open("support-portal", DATABASE_VERSION);
      request.onupgradeneeded = function () {
        STORES.forEach(function (name) {
          if (!request.result.objectStoreNames.contains(name)) {
            request.result.createObjectStore(name, { keyPath: "key" });
          }
        });
      };
      request.onsuccess = function () {
        var db = request.result;
        // A newer release's worker upgrading the database: let it, and open it again next time.
        db.onversionchange = function () {
          db.close();
          database = null;
        };
        resolve(db);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
    return database;
  }

  function transact(storeName, mode, action) {
    return openDatabase().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(storeName, mode);
        var request = action(transaction.objectStore(storeName));
        transaction.oncomplete = function () {
          resolve(request ? request.result : undefined);
        };
        transaction.onerror = transaction.onabort = function () {
          reject(transaction.error);
        };
      });
    });
  }

  function store(storeName) {
    return {
      get: function (key) {
        return transact(storeName, "readonly", function (objects) {
          return objects.get(key);
        }).then(function (record) {
          return record && Date.now() - record.savedAt < KEEP_MS ? record : null;
        });
      },
      // A record keeps the time it was first saved at (a send handed to another tab).
      put: function (record) {
        record.savedAt = record.savedAt || Date.now();
        return transact(storeName, "readwrite", function (objects) {
          return objects.put(record);
        });
      },
      remove: function (key) {
        return transact(storeName, "readwrite", function (objects) {
          return objects.delete(key);
        });
      },
      all: function () {
        return transact(storeName, "readonly", function (objects) {
          return objects.getAll();
        }).then(function (records) {
          return (records || []).filter(function (record) {
            return Date.now() - record.savedAt < KEEP_MS;
          });
        });
      },
      forgetOld: function () {
        return transact(storeName, "readwrite", function (objects) {
          var cursor = objects.openCursor();
          cursor.onsuccess = function () {
            var current = cursor.result;
            if (!current) return;
            if (!(Date.now() - current.value.savedAt < KEEP_MS)) current.delete();
            current.continue();
          };
          return null;
        });
      },
    };
  }

  var drafts = store("drafts");
  var outbox = store("outbox");

  // --- sending -----------------------------------------------------------------------------
  // A send: { key, url, fields: [[name, text]], files: [[name, blob, fileName]] }.
  function formDataOf(entry) {
    var data = new FormData();
    entry.fields.forEach(function (field) {
      data.append(field[0], field[1]);
    });
    entry.files.forEach(function (file) {
      data.append(file[0], file[1], file[2]);
    });
    return data;
  }

  // A form opened from a copy the service worker kept carries old tokens: fresh ones, fetched
  // once and kept with the send, so that trying it again is still one request on the server.
  function refreshTokens(entry) {
    var url = document.getElementById("phone-pending").dataset.tokensUrl;
    return window
      .fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (tokens) {
        entry.fields = entry.fields.map(function (field) {
          if (field[0] === "csrfmiddlewaretoken") return [field[0], tokens.csrf_token];
          if (field[0] === "form_token") return [field[0], tokens.form_token];
          return field;
        });
        delete entry.needsTokens;
        return outbox.put(entry).catch(function () {});
      });
  }

  // Where the browser has Background Sync, the service worker sends it when the signal returns,
  // even once every page is closed.
  function askForSync() {
    if (!navigator.serviceWorker || !window.SyncManager) return;
    navigator.serviceWorker.ready
      .then(function (registration) {
        return registration.sync.register(SYNC_TAG);
      })
      .catch(function () {});
  }

  // Calls on.progress(sent, total), on.stalled(), on.waiting() (the line is down; the send is
  // kept and tried again by itself), on.stored(answer) and on.answered(html, status). One try
  // at a time; a late answer from an abandoned try is ignored.
  function sendNow(entry, on) {
    var waits = 0;
    var timer = null;
    var current = null;
    var finished = false;
    var done;
    var whenDone = new Promise(function (resolve) {
      done = resolve;
    });

    function tryAgainLater() {
      on.waiting();
      askForSync();
      var seconds = RETRY_SECONDS[Math.min(waits, RETRY_SECONDS.length - 1)];
      waits += 1;
      window.clearTimeout(timer);
      timer = window.setTimeout(attempt, seconds * 1000);
    }

    function whenOnline() {
      if (finished || current) return;
      window.clearTimeout(timer);
      attempt();
    }
    window.addEventListener("online", whenOnline);

    function finish() {
      finished = true;
      current = null;
      window.clearTimeout(timer);
      window.removeEventListener("online", whenOnline);
      done();
    }

    function attempt() {
      if (finished || current) return;
      if (navigator.onLine === false) {
        // The "online" event cuts the wait short; the timer covers an event that never comes
        // (a tab frozen in the background while the signal returned).
        tryAgainLater();
        return;
      }
      if (entry.needsTokens) {
        current = entry;
        refreshTokens(entry).then(
          function () {
            current = null;
            attempt();
          },
          function () {
            current = null;
            if (!finished) tryAgainLater();
          }
        );
        return;
      }
      var xhr = new XMLHttpRequest();
      current = xhr;
      var lastMove = Date.now();
      var watch = window.setInterval(function () {
        var still = Date.now() - lastMove;
        if (still > GIVE_UP_MS) xhr.abort();
        else if (still > STALL_MS) on.stalled();
      }, 1000);
      function moved() {
        lastMove = Date.now();
      }
      function over() {
        window.clearInterval(watch);
        if (current !== xhr) return false;
        current = null;
        return !finished;
      }
      function lineDown() {
        if (over()) tryAgainLater();
      }
      xhr.open("POST", entry.url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        moved();
        if (event.lengthComputable) on.progress(event.loaded, event.total);
      };
      xhr.onprogress = moved;
      xhr.onerror = lineDown;
      xhr.onabort = lineDown;
      xhr.ontimeout = lineDown;
      xhr.onload = function () {
        if (!over()) return;
        var type = xhr.getResponseHeader("Content-Type") || "";
        // A proxy in front of the portal answering for it while it restarts: the line, too.
        if (xhr.status === 502 || xhr.status === 503 || xhr.status === 504) {
          tryAgainLater();
          return;
        }
        finish();
        if (xhr.status === 201 && type.indexOf("application/json") === 0) {
          var answer = JSON.parse(xhr.responseText);
          Promise.all([outbox.remove(entry.key), drafts.remove(entry.key)])
            .catch(function () {})
            .then(function () {
              on.stored(answer);
            });
        } else {
          // The portal answered (the form with what to fix, a rate limit...): nothing is left to
          // send. The draft stays, so the form comes back as it was typed.
          outbox
            .remove(entry.key)
            .catch(function () {})
            .then(function () {
              on.answered(xhr.responseText, xhr.status);
            });
        }
      };
      xhr.send(formDataOf(entry));
    }

    attempt();
    return whenDone;
  }

  function lockName(entry) {
    return "support-portal-send:" + entry.key;
  }

  // One tab sends a given form's request at a time (where the browser has Web Locks; elsewhere
  // two tabs may both send it, and the form token makes that one request on the server).
  function send(entry, on) {
    if (!navigator.locks) {
      sendNow(entry, on);
      return;
    }
    navigator.locks
      .request(lockName(entry), { ifAvailable: true }, function (lock) {
        if (!lock) {
          on.waiting(); // another tab of this browser is sending it
          return null;
        }
        return sendNow(entry, on);
      })
      .catch(function () {
        sendNow(entry, on);
      });
  }

  // A page the portal answered with instead of the next page: shown as the browser would.
  function showAnswer(html) {
    window.portalAnswerShown = true;
    document.open();
    document.write(html);
    document.close();
  }

  // --- the requests sent from this browser ---------------------------------------------------
  function fresh(request) {
    if (!request || typeof request.at !== "number") return false;
    return Date.now() - request.at < REQUESTS_KEEP_MS;
  }

  function storedRequests() {
    try {
      var list = JSON.parse(window.localStorage.getItem(REQUESTS_KEY) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (error) {
      return [];
    }
  }

  function readRequests() {
    return storedRequests().filter(fresh);
  }

  function writeRequests(list) {
    list = list.filter(fresh);
    try {
      if (list.length) {
        window.localStorage.setItem(REQUESTS_KEY, JSON.stringify(list.slice(0, REQUESTS_KEPT)));
      } else {
        window.localStorage.removeItem(REQUESTS_KEY);
      }
    } catch (error) {
      // Storage full or refused (private browsing): the list is a convenience.
    }
  }

  // request: { reference, url, service, headline }; options.onlyKnown: updated if listed, never
  // added (a status page opened with a code of "Find my request").
  function rememberRequest(request, options) {
    var known = readRequests();
    var earlier = known.filter(function (other) {
      return other.url === request.url;
    })[0];
    if (!earlier && options && options.onlyKnown) return;
    var list = known.filter(function (other) {
      return other.url !== request.url;
    });
    list.unshift({
      reference: request.reference,
      url: request.url,
      service: request.service || (earlier && earlier.service) || "",
      headline: request.headline || (earlier && earlier.headline) || "",
      at: (earlier && earlier.at) || Date.now(),
    });
    writeRequests(list);
  }

  function forgetRequest(url) {
    writeRequests(
      readRequests().filter(function (other) {
        return other.url !== url;
      })
    );
  }

  // The copies of pages the service worker keeps: "forget-pages" drops those of the given
  // addresses, "forget-customer" every status page. Told to the worker that controls the page,
  // else to the active one (a page loaded before the worker took over); none: nothing is kept.
  function tellServiceWorker(message) {
    var container = navigator.serviceWorker;
    if (!container) return;
    if (container.controller) {
      container.controller.postMessage(message);
      return;
    }
    container
      .getRegistration()
      .then(function (registration) {
        if (registration && registration.active) registration.active.postMessage(message);
      })
      .catch(function () {});
  }

  function forgetKeptPages(urls) {
    var absolute = urls.map(function (url) {
      return new URL(url, window.location.href).href;
    });
    tellServiceWorker({ type: "forget-pages", urls: absolute });
  }

  // Requests listed longer than the page allows leave the list, and their kept pages with them.
  function forgetOldRequests() {
    var stored = storedRequests();
    var old = stored.filter(function (request) {
      return !fresh(request);
    });
    if (!old.length) return;
    writeRequests(stored);
    forgetKeptPages(
      old
        .map(function (request) {
          return request && request.url;
        })
        .filter(function (url) {
          return typeof url === "string" && url.charAt(0) === "/";
        })
    );
  }

  // "Your saved request was sent:" and the request's reference, a link to its status page.
  function sayItWent(banner, answer) {
    banner.textContent = banner.dataset.sentText + " ";
    var link = document.createElement("a");
    link.href = answer.status_url;
    link.className = "alert-link font-monospace";
    link.textContent = answer.reference;
    banner.appendChild(link);
  }

  function showRequests() {
    var section = document.getElementById("my-requests");
    if (!section) return;
    var list = section.querySelector("ul");
    var requests = readRequests();
    list.textContent = "";
    requests.forEach(function (request) {
      var item = document.createElement("li");
      item.className = "my-request";
      var link = document.createElement("a");
      link.href = request.url;
      link.className = "font-monospace";
      link.textContent = request.reference;
      item.appendChild(link);
      [request.service, request.headline].forEach(function (text) {
        if (!text) return;
        var part = document.createElement("span");
        part.className = "text-body-secondary";
        part.textContent = " · " + text;
        item.appendChild(part);
      });
      list.appendChild(item);
    });
    section.hidden = requests.length === 0;
  }

  // --- a send left pending on another page (or in a closed tab) -------------------------------
  // Whether another open tab is sending it now (where the browser has Web Locks): that tab
  // finishes it, and no one is asked.
  function sendingElsewhere(entry) {
    if (!navigator.locks || !navigator.locks.query) return Promise.resolve(false);
    return navigator.locks
      .query()
      .then(function (state) {
        return (state.held || []).some(function (lock) {
          return lock.name === lockName(entry);
        });
      })
      .catch(function () {
        return false;
      });
  }

  // Asks, one send at a time, about a send this tab did not start; resolves to "send" (this tab
  // started it, or it is this tab's now), "discard" (it and its draft are gone), "later" (the
  // question was closed: it stays for the next page to ask) or "elsewhere" (another tab is
  // sending it, or has). Only the form's name and when are shown, nothing typed.
  var asked = Promise.resolve();
  function askAbout(entry) {
    if (entry.tab === tab) return Promise.resolve("send");
    var answer = asked
      .then(function () {
        return Promise.all([outbox.get(entry.key), sendingElsewhere(entry)]);
      })
      .then(function (found) {
        var current = found[0];
        if (!current || current.tab !== entry.tab || found[1]) return "elsewhere";
        return askNow(current);
      });
    asked = answer.catch(function () {});
    return answer;
  }

  function askNow(entry) {
    var dialog = document.getElementById("phone-pending-ask");
    if (!dialog) return Promise.resolve("later");
    var texts = dialog.dataset;
    var when = new Date(entry.savedAt).toLocaleString(document.documentElement.lang || undefined, {
      dateStyle: "medium",
      timeStyle: "short",
    });
    var what = entry.service ? texts.serviceWhenText : texts.whenText;
    document.getElementById("phone-pending-ask-what").textContent = what
      .replace("{service}", function () {
        return entry.service;
      })
      .replace("{when}", when);
    var sendButton = document.getElementById("phone-pending-ask-send");
    var discardButton = document.getElementById("phone-pending-ask-discard");
    return new Promise(function (resolve) {
      function answered(answer) {
        sendButton.removeEventListener("click", onSend);
        discardButton.removeEventListener("click", onDiscard);
        dialog.removeEventListener("close", onClose);
        if (dialog.open && dialog.close) dialog.close();
        dialog.hidden = true;
        resolve(answer);
      }
      function onSend() {
        // Sent meanwhile (the service worker, when the signal came back): nothing to adopt.
        outbox
          .get(entry.key)
          .then(function (current) {
            if (!current) return "elsewhere";
            current.tab = entry.tab = tab;
            return outbox.put(current).then(function () {
              return "send";
            });
          })
          .catch(function () {
            return "send";
          })
          .then(answered);
      }
      function onDiscard() {
        Promise.all([outbox.remove(entry.key), drafts.remove(entry.key)])
          .catch(function () {})
          .then(function () {
            answered("discard");
          });
      }
      function onClose() {
        answered("later");
      }
      sendButton.addEventListener("click", onSend);
      discardButton.addEventListener("click", onDiscard);
      dialog.addEventListener("close", onClose);
      dialog.hidden = false;
      if (dialog.showModal) dialog.showModal();
      else dialog.setAttribute("open", "");
    });
  }

  function finishPendingSend(entry) {
    var banner = document.getElementById("phone-pending");
    if (banner) {
      banner.textContent = banner.dataset.sendingText;
      banner.hidden = false;
    }
    send(entry, {
      progress: function () {},
      stalled: function () {},
      waiting: function () {
        if (banner) banner.textContent = banner.dataset.waitingText;
      },
      stored: function (answer) {
        rememberRequest({
          reference: answer.reference,
          url: answer.status_url,
          service: entry.service,
        });
        showRequests();
        if (banner) sayItWent(banner, answer);
      },
      answered: function () {
        // What the portal said needs the customer: back to that form, as it was typed.
        window.location.assign(entry.url);
      },
    });
  }

  function finishPendingSends(except) {
    outbox
      .all()
      .then(function (entries) {
        entries
          .filter(function (entry) {
            return entry.key !== except;
          })
          .forEach(function (entry) {
            askAbout(entry).then(function (answer) {
              if (answer === "send") finishPendingSend(entry);
            });
          });
      })
      .catch(function () {});
  }

  // --- sends the service worker finished with no page open ---------------------------------
  function collectSent() {
    var banner = document.getElementById("phone-pending");
    var found = [];
    return openDatabase()
      .then(function (db) {
        return new Promise(function (resolve, reject) {
          var transaction = db.transaction("sent", "readwrite");
          var objects = transaction.objectStore("sent");
          var all = objects.getAll();
          all.onsuccess = function () {
            found = all.result || [];
            objects.clear();
          };
          transaction.oncomplete = resolve;
          transaction.onerror = transaction.onabort = function () {
            reject(transaction.error);
          };
        });
      })
      .then(function () {
        if (!found.length) return;
        found.sort(function (one, other) {
          return one.at - other.at;
        });
        found.forEach(function (sent) {
          rememberRequest({ reference: sent.reference, url: sent.status_url, service: sent.service });
        });
        showRequests();
        if (!banner) return;
        sayItWent(banner, found[found.length - 1]);
        banner.hidden = false;
      })
      .catch(function () {});
  }

  // The service worker keeps the pages seen for a visit with no signal. The page that was open
  // before it took over is handed to it, with the static files it used.
  function startServiceWorker() {
    var banner = document.getElementById("phone-pending");
    var script = banner && banner.dataset.serviceWorker;
    if (!script || !navigator.serviceWorker) return;
    navigator.serviceWorker
      .register(script)
      .then(function () {
        if (pageAsItCame === null) return null;
        return navigator.serviceWorker.ready.then(function (registration) {
          var assets = window.performance
            .getEntriesByType("resource")
            .map(function (entry) {
              return entry.name;
            })
            .filter(function (url) {
              return url.indexOf(window.location.origin + "/") === 0;
            });
          registration.active.postMessage({
            type: "keep-first-page",
            page: window.location.href,
            html: pageAsItCame,
            language: document.documentElement.lang,
            assets: assets,
          });
        });
      })
      .catch(function () {});
  }
  // --- a shared or public computer --------------------------------------------------------------
  // Ticked, the browser is asked not to remember what is typed in the box's form (its
  // suggestions, and the values put back by Back); unticked, each field's own hint returns.
  function rememberTyping(form, remember) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!/^(INPUT|TEXTAREA)$/.test(element.tagName)) return;
      if (/^(hidden|file|checkbox|radio|submit|button)$/.test(element.type)) return;
      var data = element.dataset;
      if (!remember) {
        if (!("autocompleteWas" in data)) {
          data.autocompleteWas = element.getAttribute("autocomplete") || "";
        }
        element.setAttribute("autocomplete", "off");
      } else if ("autocompleteWas" in data) {
        if (data.autocompleteWas) element.setAttribute("autocomplete", data.autocompleteWas);
        else element.removeAttribute("autocomplete");
        delete data.autocompleteWas;
      }
    });
  }

  var sharedBoxes = document.querySelectorAll("input[name=shared_computer]");
  Array.prototype.forEach.call(sharedBoxes, function (box) {
    if (!box.form) return;
    box.addEventListener("change", function () {
      rememberTyping(box.form, !box.checked);
    });
    if (box.checked) rememberTyping(box.form, false);
  });

  function formatBytes(bytes) {
    var language = document.documentElement.lang || undefined;
    var megabytes = bytes / (1024 * 1024);
    if (megabytes >= 1) {
      return megabytes.toLocaleString(language, { maximumFractionDigits: 1 }) + " MB";
    }
    return Math.max(1, Math.round(bytes / 1024)).toLocaleString(language) + " KB";
  }

  window.PortalPhone = {
    drafts: drafts,
    outbox: outbox,
    send: send,
    showAnswer: showAnswer,
    rememberRequest: rememberRequest,
    forgetRequest: forgetRequest,
    forgetKeptPages: forgetKeptPages,
    tab: tab,
    askAbout: askAbout,
    formatBytes: formatBytes,
  };

  startServiceWorker();
  drafts.forgetOld().catch(function () {});
  outbox.forgetOld().catch(function () {});
  forgetOldRequests();
  showRequests();
  collectSent();
  var forget = document.getElementById("my-requests-forget");
  if (forget) {
    forget.addEventListener("click", function () {
      writeRequests([]);
      showRequests();
      // Their status pages kept for opening offline go with the list.
      tellServiceWorker({ type: "forget-customer" });
    });
  }
  // Where the browser offers to put the portal on the home screen, a quiet button in the footer
  // asks it to (nothing above it moves when it shows).
  var installButton = document.getElementById("install-app");
  var installOffer = null;
  if (installButton) {
    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault();
      installOffer = event;
      installButton.hidden = false;
    });
    installButton.addEventListener("click", function () {
      installButton.hidden = true;
      if (installOffer) installOffer.prompt();
      installOffer = null;
    });
    window.addEventListener("appinstalled", function () {
      installButton.hidden = true;
      installOffer = null;
    });
  }
  // The request form finishes its own pending send, with its progress on screen.
  var form = document.querySelector("form[data-submit-once]");
  finishPendingSends(form ? window.location.pathname : null);
})();
