// The portal with no signal (tickets/customer/offline.py says what may be kept and why).
//
// - Static files: kept as the pages fetch them (hashed names, so a kept one never goes stale);
//   nothing is fetched in advance but the small offline page in each language.
// - Pages: the network first, for at most CONFIG.network_timeout_ms; then the copy kept for this
//   address in the language last chosen (the language is a cookie, so one address has a copy
//   per language, told apart by the answer's Content-Language). A kept copy is marked
//   data-kept-at on <html> so that its scripts know it is a copy and from when.
// - A page never seen, with no signal: the offline page in the language last chosen.
// - Sends kept on the phone (phone.js's "outbox") are finished here by Background Sync when the
//   signal returns, with no page open; the answer goes into the "sent" store for pages to list.
// - A new release is a new script (its version below): it replaces the old worker at once and
//   deletes what the old one kept, and the pages it had kept are fetched again.
"use strict";
{% autoescape off %}var CONFIG = {{ config }};{% endautoescape %}

var VERSION = CONFIG.version;
var SHELL = "portal-shell-" + VERSION; // static files and the offline pages
var PAGES = "portal-pages-" + VERSION; // pages seen, one copy per address and language
var STATE = "portal-state"; // the language last chosen: outlives releases
var LANGUAGE_KEY = "/__portal/language";
var LANGUAGE_PARAMETER = "portal-language";
var KEEP = CONFIG.keep.map(function (pattern) {
  return new RegExp(pattern);
});
var PASS = CONFIG.pass.map(function (pattern) {
  return new RegExp(pattern);
});
var HASHED = /\.[0-9a-f]{12}\.[A-Za-z0-9]+$/;
// As phone.js: the database, its version and stores, and how long a kept send lives.
var DATABASE = "support-portal";
var DATABASE_VERSION = 2;
var STORES = ["drafts", "outbox", "sent"];
var KEEP_MS = 3 * 24 * 3600 * 1000;

function matches(patterns, path) {
  return patterns.some(function (pattern) {
    return pattern.test(path);
  });
}

// --- pages kept, per address and language ---------------------------------------------------
function keyOf(url, language) {
  var address = new URL(url);
  address.hash = "";
  address.searchParams.set(LANGUAGE_PARAMETER, language || "");
  return address.href;
}

function addressOf(key) {
  var address = new URL(key);
  address.hash = "";
  address.searchParams.delete(LANGUAGE_PARAMETER);
  return address.href;
}

function languageOf(response) {
  return (response.headers.get("Content-Language") || "").split(",")[0].trim();
}

function rememberLanguage(language) {
  if (!language) return Promise.resolve();
  return caches.open(STATE).then(function (cache) {
    return cache.put(LANGUAGE_KEY, new Response(language));
  });
}

function lastLanguage() {
  return caches
    .match(LANGUAGE_KEY, { cacheName: STATE })
    .then(function (found) {
      return found ? found.text() : "";
    })
    .catch(function () {
      return "";
    });
}

function keepPage(url, response) {
  var language = languageOf(response);
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    // The body is kept decoded: no header may say otherwise.
    headers.delete("Content-Encoding");
    headers.delete("Content-Length");
    headers.set("X-Kept-At", String(Date.now()));
    var copy = new Response(body, { status: response.status, headers: headers });
    return caches.open(PAGES).then(function (cache) {
      return cache.put(keyOf(url, language), copy);
    });
  });
}

// The copy shown, marked as a copy with when it was kept.
function marked(response) {
  var keptAt = response.headers.get("X-Kept-At") || "";
  return response.text().then(function (html) {
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");
    var body = html.replace("<html ", '<html data-kept-at="' + keptAt + '" ');
    return new Response(body, { status: 200, headers: headers });
  });
}

function keptPage(url) {
  return Promise.all([caches.open(PAGES), lastLanguage()]).then(function (found) {
    var cache = found[0];
    var language = found[1];
    var wanted = addressOf(url);
    return cache.match(keyOf(url, language)).then(function (copy) {
      if (copy) return marked(copy);
      // Seen in another language only: better that than nothing.
      return cache.keys().then(function (keys) {
        var other = keys.filter(function (key) {
          return addressOf(key.url) === wanted;
        })[0];
        return other ? cache.match(other).then(marked) : null;
      });
    });
  });
}

function offlinePage() {
  return lastLanguage().then(function (language) {
    var url = CONFIG.offline[language] || CONFIG.offline[CONFIG.language];
    return caches.match(url, { cacheName: SHELL }).then(function (page) {
      return page || Response.error();
    });
  });
}

function isPage(response) {
  var type = response.headers.get("Content-Type") || "";
  return (
    response.status === 200 &&
    response.type === "basic" &&
    !response.redirected &&
    type.indexOf("text/html") === 0 &&
    // A status page sent or found on a shared computer (tickets/customer/shared_computer.py).
    !response.headers.get("X-Not-Kept")
  );
}

// Work that outlives the answer: kept alive by the event while it can be, else on its own.
function extend(event, work) {
  var settled = work.catch(function () {});
  try {
    event.waitUntil(settled);
  } catch (error) {
    // The event is over (the kept copy answered first): the work goes on regardless.
  }
}

function navigate(event) {
  var request = event.request;
  var keep = matches(KEEP, new URL(request.url).pathname);
  var network = fetch(request).then(function (response) {
    if (response.ok) extend(event, rememberLanguage(languageOf(response)));
    if (keep && isPage(response)) extend(event, keepPage(request.url, response.clone()));
    return response;
  });
  if (!keep) {
    return network.catch(offlinePage);
  }
  return new Promise(function (resolve) {
    var answered = false;
    function answer(response) {
      if (answered) return;
      answered = true;
      resolve(response);
    }
    // A slow line: the kept copy now, if there is one; else the network, however long it takes.
    var timer = setTimeout(function () {
      keptPage(request.url)
        .then(function (copy) {
          if (copy) answer(copy);
        })
        .catch(function () {});
    }, CONFIG.network_timeout_ms);
    network.then(
      function (response) {
        clearTimeout(timer);
        answer(response);
      },
      function () {
        clearTimeout(timer);
        keptPage(request.url)
          .catch(function () {
            return null;
          })
          .then(function (copy) {
            answer(copy || offlinePage());
          });
      }
    );
  });
}

// --- static files ----------------------------------------------------------------------------
function staticFile(request) {
  var hashed = HASHED.test(new URL(request.url).pathname);
  function fetchAndKeep() {
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        caches.open(SHELL).then(function (cache) {
          return cache.put(request, copy);
        });
      }
      return response;
    });
  }
  if (!hashed) {
    // Unhashed (DEBUG): it may change under the same name, so the network first.
    return fetchAndKeep().catch(function () {
      return caches.match(request, { cacheName: SHELL }).then(function (kept) {
        return kept || Response.error();
      });
    });
  }
  return caches.match(request, { cacheName: SHELL }).then(function (kept) {
    return kept || fetchAndKeep();
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || matches(PASS, url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (url.pathname.indexOf(CONFIG.static) === 0) {
    event.respondWith(staticFile(request));
  }
});

// --- install, activate: a release replaces what was kept -------------------------------------
self.addEventListener("install", function (event) {
  var offline = Object.keys(CONFIG.offline).map(function (language) {
    return new Request(CONFIG.offline[language], { cache: "reload" });
  });
  event.waitUntil(
    caches
      .open(SHELL)
      .then(function (cache) {
        return cache.addAll(offline);
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

function oldCaches() {
  return caches.keys().then(function (names) {
    return names.filter(function (name) {
      return name.indexOf("portal-") === 0 && [SHELL, PAGES, STATE].indexOf(name) === -1;
    });
  });
}

// The addresses an older release had kept, fetched again for this one (in the current language).
function keptAddresses(names) {
  return Promise.all(
    names.map(function (name) {
      return caches.open(name).then(function (cache) {
        return cache.keys();
      });
    })
  ).then(function (lists) {
    var addresses = [];
    lists.forEach(function (keys) {
      keys.forEach(function (key) {
        var address = addressOf(key.url);
        var path = new URL(address).pathname;
        if (matches(KEEP, path) && addresses.indexOf(address) === -1) addresses.push(address);
      });
    });
    return addresses;
  });
}

function fetchAgain(addresses) {
  return Promise.all(
    addresses.map(function (address) {
      return fetch(address, { credentials: "same-origin" })
        .then(function (response) {
          if (isPage(response)) return keepPage(address, response);
        })
        .catch(function () {});
    })
  );
}

self.addEventListener("activate", function (event) {
  event.waitUntil(
    oldCaches().then(function (names) {
      return keptAddresses(names).then(function (addresses) {
        return Promise.all(
          names.map(function (name) {
            return caches.delete(name);
          })
        )
          .then(function () {
            return self.clients.claim();
          })
          .then(function () {
            // Not waited for: pages are answered while these come in.
            fetchAgain(addresses);
          });
      });
    })
  );
});

// --- messages from the pages ------------------------------------------------------------------
function forgetPages(test) {
  return caches.keys().then(function (names) {
    return Promise.all(
      names
        .filter(function (name) {
          return name.indexOf("portal-pages-") === 0;
        })
        .map(function (name) {
          return caches.open(name).then(function (cache) {
            return cache.keys().then(function (keys) {
              return Promise.all(
                keys
                  .filter(function (key) {
                    return test(new URL(addressOf(key.url)));
                  })
                  .map(function (key) {
                    return cache.delete(key);
                  })
              );
            });
          });
        })
    );
  });
}

// The page that was open before this worker controlled it, as the page had it, and the static
// files it used (from the browser's cache): kept as if they had come through here, with nothing
// downloaded again.
function keepFirstPage(data) {
  var assets = (data.assets || []).filter(function (url) {
    var address = new URL(url, self.location.origin);
    return address.origin === self.location.origin && address.pathname.indexOf(CONFIG.static) === 0;
  });
  var kept = caches.open(SHELL).then(function (cache) {
    return Promise.all(
      assets.map(function (url) {
        return cache.match(url).then(function (found) {
          return found || cache.add(url).catch(function () {});
        });
      })
    );
  });
  var page = new URL(data.page || "", self.location.origin);
  if (page.origin !== self.location.origin || !matches(KEEP, page.pathname) || !data.html) {
    return kept;
  }
  var copy = new Response(String(data.html), {
    headers: { "Content-Type": "text/html; charset=utf-8", "Content-Language": data.language },
  });
  return Promise.all([kept, rememberLanguage(data.language), keepPage(page.href, copy)]);
}

// The messages pages send (navigator.serviceWorker.controller.postMessage(message, [port])):
// - {type: "keep-first-page", page: url, html, language, assets: [url, ...]}: keep a page that
//   was loaded before this worker controlled it (its markup and language as the page had them),
//   and the static files it used (phone.js sends it once).
// - {type: "forget-pages", urls: [url, ...]}: delete every kept copy of these pages, in every
//   language (absolute or site-relative addresses; the query string counts, the fragment not).
// - {type: "forget-customer"}: delete every kept status page.
// - {type: "send-kept"}: send what phone.js's outbox holds now (as Background Sync would).
// When the message carries a MessagePort, {type: <type>, done: true} is posted to it once done.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  var work;
  if (data.type === "forget-pages") {
    var addresses = (data.urls || []).map(function (url) {
      var address = new URL(url, self.location.origin);
      address.hash = "";
      return address.href;
    });
    work = forgetPages(function (address) {
      return addresses.indexOf(address.href) !== -1;
    });
  } else if (data.type === "forget-customer") {
    work = forgetPages(function (address) {
      return /^\/status\//.test(address.pathname);
    });
  } else if (data.type === "keep-first-page") {
    work = keepFirstPage(data);
  } else if (data.type === "send-kept") {
    work = sendKept();
  } else {
    return;
  }
  var port = event.ports && event.ports[0];
  event.waitUntil(
    work
      .catch(function () {})
      .then(function () {
        if (port) port.postMessage({ type: data.type, done: true });
      })
  );
});

// --- sends kept on the phone, finished with no page open ---------------------------------------
function openDatabase() {
  return new Promise(function (resolve, reject) {
    var request = self.indexedDB.open(DATABASE, DATABASE_VERSION);
    request.onupgradeneeded = function () {
      STORES.forEach(function (name) {
        if (!request.result.objectStoreNames.contains(name)) {
          request.result.createObjectStore(name, { keyPath: "key" });
        }
      });
    };
    request.onsuccess = function () {
      var db = request.result;
      db.onversionchange = function () {
        db.close();
      };
      resolve(db);
    };
    request.onerror = function () {
      reject(request.error);
    };
  });
}

function transact(db, name, mode, action) {
  return new Promise(function (resolve, reject) {
    var transaction = db.transaction(name, mode);
    var request = action(transaction.objectStore(name));
    transaction.oncomplete = function () {
      resolve(request ? request.result : undefined);
    };
    transaction.onerror = transaction.onabort = function () {
      reject(transaction.error);
    };
  });
}

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

// A form opened from a kept copy carries old tokens: fresh ones, once, kept with the send so
// that trying it again is still one request (phone.js does the same).
function withFreshTokens(db, entry) {
  if (!entry.needsTokens) return Promise.resolve(entry);
  return fetch(CONFIG.tokens, { credentials: "same-origin", cache: "no-store" })
    .then(function (response) {
      if (!response.ok) throw new Error("tokens: " + response.status);
      return response.json();
    })
    .then(function (tokens) {
      entry.fields = entry.fields.map(function (field) {
        if (field[0] === "csrfmiddlewaretoken") return [field[0], tokens.csrf_token];
        if (field[0] === "form_token") return [field[0], tokens.form_token];
        return field;
      });
      delete entry.needsTokens;
      return transact(db, "outbox", "readwrite", function (store) {
        return store.put(entry);
      }).then(function () {
        return entry;
      });
    });
}

var LINE_DOWN = "line down";

function sendOne(db, key) {
  return transact(db, "outbox", "readonly", function (store) {
    return store.get(key);
  }).then(function (entry) {
    // Sent by a page meanwhile, or answered already: the next page shows that answer.
    if (!entry || entry.answered || !(Date.now() - entry.savedAt < KEEP_MS)) return null;
    return withFreshTokens(db, entry)
      .then(function (ready) {
        return fetch(ready.url, {
          method: "POST",
          body: formDataOf(ready),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
      })
      .catch(function () {
        throw new Error(LINE_DOWN);
      })
      .then(function (response) {
        // A proxy answering for the portal while it restarts: the line, too.
        if ([502, 503, 504].indexOf(response.status) !== -1) throw new Error(LINE_DOWN);
        var type = response.headers.get("Content-Type") || "";
        if (response.status === 201 && type.indexOf("application/json") === 0) {
          return response.json().then(function (answer) {
            var sent = {
              key: answer.status_url,
              reference: answer.reference,
              status_url: answer.status_url,
              service: entry.service || "",
              at: Date.now(),
            };
            return Promise.all([
              transact(db, "outbox", "readwrite", function (store) {
                return store.delete(key);
              }),
              transact(db, "drafts", "readwrite", function (store) {
                return store.delete(key);
              }),
              transact(db, "sent", "readwrite", function (store) {
                return store.put(sent);
              }),
            ]);
          });
        }
        // The portal said something the customer must read (what to fix, a limit): kept for the
        // next page of the form, which sends it again and shows the answer, as it always has.
        entry.answered = true;
        return transact(db, "outbox", "readwrite", function (store) {
          return store.put(entry);
        });
      });
  });
}

// One sender of a given send at a time: the lock is phone.js's. A page sending it now holds it,
// and the browser will ask again later.
function sendLocked(db, key) {
  if (!self.navigator.locks) return sendOne(db, key);
  return self.navigator.locks.request(
    "support-portal-send:" + key,
    { ifAvailable: true },
    function (lock) {
      if (!lock) throw new Error(LINE_DOWN);
      return sendOne(db, key);
    }
  );
}

function sendKept() {
  return openDatabase().then(function (db) {
    return transact(db, "outbox", "readonly", function (store) {
      return store.getAllKeys();
    }).then(function (keys) {
      var failed = false;
      return keys
        .reduce(function (previous, key) {
          return previous.then(function () {
            return sendLocked(db, key).catch(function () {
              failed = true;
            });
          });
        }, Promise.resolve())
        .then(
          function () {
            db.close();
            // Rejected: the browser fires the sync again later.
            if (failed) throw new Error(LINE_DOWN);
          },
          function (error) {
            db.close();
            throw error;
          }
        );
    });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === CONFIG.sync_tag) event.waitUntil(sendKept());
});
