// The visiting team's tablet view (disbursements/views/visit.py): signature
// pads, the photo, and the queue of receipts kept on the tablet.
//
// A receipt is saved in the tablet's storage (IndexedDB) BEFORE it is sent,
// under a key made here. It leaves the queue only when the server answers
// that it is recorded (or refuses it for good); a lost connection, a reply
// that never arrives or an expired sign-in leave it queued, and it is sent
// again on the `online` event, on every visit page load, when the tab comes
// back into view and every 15 seconds. A resend carries the same key, which
// the server records once, so retries never make a second record.
//
// No inline scripts or styles (a strict Content-Security-Policy is planned):
// the page passes its data and its words in data- attributes.
(function () {
  "use strict";

  var panel = document.getElementById("visit-queue");
  if (!panel) return;

  var USER = panel.getAttribute("data-user") || "";
  var RETRY_MS = 15000;
  var LOCK = "relief-visit-queue";
  // services.SIGNATURE_MAX_BYTES is 512 KiB for every image; stay under it.
  var PHOTO_MAX_BYTES = 480 * 1024;
  var PHOTO_MAX_SIDE = 1280;

  function msg(name) {
    return panel.getAttribute("data-msg-" + name) || "";
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent("visit:" + name, { detail: detail }));
  }

  // -- storage: IndexedDB, or localStorage where IndexedDB cannot be opened ----------

  var store = (function () {
    var DB = "relief-visit";
    var STORE = "receipts";
    var PREFIX = "relief-visit:";
    var opening = null;

    function open() {
      if (opening) return opening;
      opening = new Promise(function (resolve, reject) {
        if (!window.indexedDB) {
          reject(new Error("no IndexedDB"));
          return;
        }
        var request = window.indexedDB.open(DB, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "key" });
        };
        request.onsuccess = function () {
          resolve(request.result);
        };
        request.onerror = function () {
          reject(request.error);
        };
      });
      return opening;
    }

    function run(mode, work) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(STORE, mode);
          var request = work(tx.objectStore(STORE));
          tx.oncomplete = function () {
            resolve(request ? request.result : undefined);
          };
          tx.onerror = tx.onabort = function () {
            reject(tx.error || new Error("IndexedDB transaction failed"));
          };
        });
      });
    }

    // localStorage holds about 5 MB: enough for a few receipts with photos,
    // and only used where IndexedDB is missing (some private windows).
    var local = {
      put: function (item) {
        window.localStorage.setItem(PREFIX + item.key, JSON.stringify(item));
      },
      remove: function (key) {
        window.localStorage.removeItem(PREFIX + key);
      },
      all: function () {
        var items = [];
        for (var i = 0; i < window.localStorage.length; i++) {
          var name = window.localStorage.key(i);
          if (name && name.indexOf(PREFIX) === 0) {
            try {
              items.push(JSON.parse(window.localStorage.getItem(name)));
            } catch (error) {
              // A damaged entry cannot be sent; leave it for the person to see in devtools.
            }
          }
        }
        return items;
      },
    };

    function localAll() {
      try {
        return local.all();
      } catch (error) {
        return [];
      }
    }

    return {
      put: function (item) {
        return run("readwrite", function (s) {
          return s.put(item);
        }).catch(function () {
          local.put(item); // throws (and rejects) when that is full too
        });
      },
      remove: function (key) {
        return run("readwrite", function (s) {
          return s.delete(key);
        })
          .catch(function () {})
          .then(function () {
            try {
              local.remove(key);
            } catch (error) {
              // Nothing kept there.
            }
          });
      },
      all: function () {
        return run("readonly", function (s) {
          return s.getAll();
        })
          .catch(function () {
            return [];
          })
          .then(function (items) {
            return (items || []).concat(localAll()).sort(function (a, b) {
              return a.queued_at < b.queued_at ? -1 : a.queued_at > b.queued_at ? 1 : 0;
            });
          });
      },
    };
  })();

  // -- sending ------------------------------------------------------------------------

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    // randomUUID needs a secure context; a tablet on the office's LAN over
    // plain http has getRandomValues only.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function csrfToken() {
    // The cookie is current even when this page was loaded before a new sign-in.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function blobOf(dataUrl) {
    var comma = dataUrl.indexOf(",");
    var type = (dataUrl.slice(5, comma).split(";")[0]) || "application/octet-stream";
    var binary = window.atob(dataUrl.slice(comma + 1));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Blob([bytes], { type: type });
  }

  // One send: "sent" (recorded, now or before), "refused" (the server will
  // never take it: the person must see why), or "later" (not recorded: no
  // connection, no reply, the sign-in page, a server error).
  function send(item) {
    var form = new FormData();
    form.append("key", item.key);
    form.append("signature", blobOf(item.signature), "signature.png");
    form.append("countersignature", blobOf(item.countersignature), "countersignature.png");
    if (item.photo) form.append("photo", blobOf(item.photo), "photo.jpg");
    form.append("signed_at", item.signed_at);
    form.append("device", item.device);
    form.append("cadres", item.cadres || "");
    if (item.by_proxy) form.append("by_proxy", "1");
    return window
      .fetch(item.url, {
        method: "POST",
        body: form,
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      })
      .then(
        function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) {
            var signIn = response.redirected || response.status === 403 || /\/login\//.test(response.url);
            return { outcome: "later", signIn: signIn };
          }
          return response.json().then(
            function (body) {
              if (body.ok) return { outcome: "sent", body: body };
              return { outcome: "refused", error: body.error || String(response.status) };
            },
            function () {
              return { outcome: "later" };
            }
          );
        },
        function () {
          return { outcome: "later" };
        }
      );
  }

  function withLock(work) {
    // One tab sends at a time (the list in one tab, the signing page in another).
    if (navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK, work);
    return work();
  }

  var flushing = null;
  var again = false;
  var problem = ""; // "", "offline" or "sign-in": why the last flush stopped

  function flushOnce() {
    return withLock(function () {
      return store.all().then(function (items) {
        var mine = items.filter(function (item) {
          return item.user === USER && item.status !== "refused";
        });
        problem = "";
        // One after the other, stopping at the first that cannot get through.
        return mine.reduce(function (previous, item) {
          return previous.then(function (stopped) {
            if (stopped) return true;
            return send(item).then(function (result) {
              if (result.outcome === "sent") {
                return store.remove(item.key).then(function () {
                  emit("sent", { item: item, body: result.body });
                  return false;
                });
              }
              if (result.outcome === "refused") {
                item.status = "refused";
                item.error = result.error;
                return store.put(item).then(function () {
                  emit("refused", { item: item });
                  return false;
                });
              }
              problem = result.signIn ? "sign-in" : "offline";
              return true;
            });
          });
        }, Promise.resolve(false));
      });
    });
  }

  function flush() {
    if (flushing) {
      again = true;
      return flushing;
    }
    flushing = flushOnce()
      .catch(function () {})
      .then(function () {
        flushing = null;
        return render();
      })
      .then(function () {
        emit("flushed", { problem: problem });
        if (again) {
          again = false;
          return flush();
        }
      });
    return flushing;
  }

  // -- the queue on every visit page --------------------------------------------------

  function render() {
    return store.all().then(function (items) {
      var list = panel.querySelector("[data-queue-items]");
      list.textContent = "";
      var waiting = 0;
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-key", item.key);
        li.setAttribute("data-payment", item.payment);
        li.setAttribute("data-status", item.status);
        var name = document.createElement("strong");
        name.textContent = item.name;
        var number = document.createElement("span");
        number.className = "mono muted";
        number.textContent = item.number;
        var when = document.createElement("span");
        when.className = "muted";
        when.textContent = new Date(item.signed_at).toLocaleString();
        var badge = document.createElement("span");
        badge.className = "badge";
        li.append(name, number, when, badge);
        if (item.status === "refused") {
          badge.textContent = msg("refused");
          var error = document.createElement("span");
          error.className = "error";
          error.textContent = item.error;
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "button-secondary";
          remove.setAttribute("data-queue-remove", item.key);
          remove.textContent = msg("remove");
          li.append(error, remove);
        } else if (item.user !== USER) {
          badge.textContent = msg("other-user");
        } else {
          badge.textContent = msg("waiting");
          waiting += 1;
        }
        list.appendChild(li);
      });
      panel.hidden = items.length === 0;
      panel.querySelector("[data-queue-count]").textContent = String(items.length);
      panel.querySelector("[data-queue-send]").hidden = waiting === 0;
      var note = panel.querySelector("[data-queue-note]");
      note.textContent = problem === "sign-in" ? msg("sign-in") : problem === "offline" && waiting ? msg("offline") : "";
      markRows(items);
      return items;
    });
  }

  // The day's list: households whose receipt is still on the tablet.
  function markRows(items) {
    var queued = {};
    items.forEach(function (item) {
      queued[item.payment] = item;
    });
    document.querySelectorAll(".visit-row[data-payment]").forEach(function (row) {
      var item = queued[row.getAttribute("data-payment")];
      row.classList.toggle("is-queued", Boolean(item));
      if (item) row.setAttribute("data-queued", item.status);
      else row.removeAttribute("data-queued");
    });
  }

  document.addEventListener("visit:sent", function (event) {
    var body = event.detail.body;
    document.querySelectorAll('.visit-row[data-payment="' + event.detail.item.payment + '"]').forEach(function (row) {
      row.classList.add("is-done");
      row.setAttribute("data-state", body.state);
      var label = row.querySelector("[data-state-label]");
      if (label) {
        label.textContent = msg("state-signed");
        label.className = "badge visit-state state-" + body.state;
      }
    });
  });

  panel.addEventListener("click", function (event) {
    if (event.target.closest("[data-queue-send]")) {
      flush();
      return;
    }
    var remove = event.target.closest("[data-queue-remove]");
    if (remove && window.confirm(msg("remove-confirm"))) {
      store.remove(remove.getAttribute("data-queue-remove")).then(render);
    }
  });

  // The day's list: find a household by name or number.
  var filter = document.querySelector("[data-visit-filter]");
  if (filter) {
    filter.addEventListener("input", function () {
      var words = filter.value.trim().toLowerCase();
      document.querySelectorAll("#visit-waiting > li").forEach(function (li) {
        var row = li.querySelector("[data-search]");
        li.hidden = Boolean(words) && Boolean(row) && row.getAttribute("data-search").toLowerCase().indexOf(words) === -1;
      });
    });
  }

  // -- the signature pad ------------------------------------------------------------

  function Pad(canvas) {
    var self = this;
    this.canvas = canvas;
    this.strokes = [];
    this.current = null;
    this.scale = 1;

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button > 0) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      self.current = [point(event)];
      self.strokes.push(self.current);
      self.dot(self.current[0]);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!self.current) return;
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) events = [event];
      events.forEach(function (e) {
        var last = self.current[self.current.length - 1];
        var next = point(e);
        self.current.push(next);
        self.segment(last, next);
      });
    });
    function end() {
      if (!self.current) return;
      self.current = null;
      canvas.classList.toggle("has-ink", self.hasInk());
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);
    this.fit();
  }

  Pad.prototype.context = function () {
    var ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    ctx.fillStyle = "#111";
    return ctx;
  };

  Pad.prototype.dot = function (p) {
    var ctx = this.context();
    ctx.beginPath();
    ctx.arc(p[0], p[1], 1.5, 0, 2 * Math.PI);
    ctx.fill();
  };

  Pad.prototype.segment = function (a, b) {
    var ctx = this.context();
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  };

  // The canvas's pixels follow its size on screen (sharp on a dense screen,
  // at most twice, to keep the PNG small); strokes are kept in CSS pixels
  // and drawn again after a turn of the tablet.
  Pad.prototype.fit = function () {
    var box = this.canvas.getBoundingClientRect();
    if (!box.width) return;
    this.scale = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.width = Math.round(box.width * this.scale);
    this.canvas.height = Math.round(box.height * this.scale);
    var self = this;
    this.strokes.forEach(function (stroke) {
      self.dot(stroke[0]);
      for (var i = 1; i < stroke.length; i++) self.segment(stroke[i - 1], stroke[i]);
    });
  };

  Pad.prototype.clear = function () {
    this.strokes = [];
    this.current = null;
    this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.classList.remove("has-ink");
  };

  // Enough ink to be a signature and not a stray touch: the server refuses
  // a near-empty pad too (services._ink).
  Pad.prototype.hasInk = function () {
    var length = 0;
    this.strokes.forEach(function (stroke) {
      for (var i = 1; i < stroke.length; i++) {
        length += Math.hypot(stroke[i][0] - stroke[i - 1][0], stroke[i][1] - stroke[i - 1][1]);
      }
    });
    return length >= 40;
  };

  Pad.prototype.png = function () {
    return this.canvas.toDataURL("image/png"); // transparent where not signed
  };

  // -- the photo --------------------------------------------------------------------

  function decode(file) {
    if (window.createImageBitmap) return window.createImageBitmap(file);
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () {
        URL.revokeObjectURL(url);
        resolve(image);
      };
      image.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("unreadable image"));
      };
      image.src = url;
    });
  }

  function bytesOf(dataUrl) {
    return Math.floor(((dataUrl.length - dataUrl.indexOf(",") - 1) * 3) / 4);
  }

  // A camera's photo (often 12 MP, several MB) as a JPEG of at most
  // PHOTO_MAX_SIDE pixels and PHOTO_MAX_BYTES: quick to send on a weak line
  // and small enough to keep in the queue.
  function downscale(file) {
    return decode(file).then(function (image) {
      var side = PHOTO_MAX_SIDE;
      var canvas = document.createElement("canvas");
      var url = "";
      for (var attempt = 0; attempt < 4; attempt++) {
        var k = Math.min(1, side / Math.max(image.width, image.height));
        canvas.width = Math.max(1, Math.round(image.width * k));
        canvas.height = Math.max(1, Math.round(image.height * k));
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
        for (var quality = 0.82; quality > 0.4; quality -= 0.14) {
          url = canvas.toDataURL("image/jpeg", quality);
          if (bytesOf(url) <= PHOTO_MAX_BYTES) break;
        }
        if (bytesOf(url) <= PHOTO_MAX_BYTES) break;
        side = Math.round(side * 0.75);
      }
      if (image.close) image.close();
      return { url: url, canvas: canvas };
    });
  }

  // -- the signing page -------------------------------------------------------------

  var form = document.getElementById("receipt-form");
  var status = document.getElementById("visit-status");

  function setStatus(state, text) {
    if (!status) return;
    status.hidden = false;
    status.setAttribute("data-state", state);
    status.querySelector("[data-status-text]").textContent = text;
    status.querySelector("[data-status-back]").hidden = !(state === "signed" || state === "queued");
    // The confirm button sits low on a tablet: keep the answer in sight.
    if (status.scrollIntoView) status.scrollIntoView({ block: "nearest" });
  }

  if (form) {
    var payment = form.getAttribute("data-payment");
    var pads = {};
    document.querySelectorAll("canvas[data-pad]").forEach(function (canvas) {
      pads[canvas.getAttribute("data-pad")] = new Pad(canvas);
    });
    var photo = null;
    var photoInput = document.getElementById("id_photo");
    var preview = document.getElementById("photo-preview");
    var photoRemove = document.getElementById("photo-remove");
    var photoNote = document.getElementById("photo-note");
    var submitButton = document.getElementById("visit-submit");
    var submitted = ""; // the key of the receipt this page sent

    var resizing = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(function () {
        Object.keys(pads).forEach(function (name) {
          pads[name].fit();
        });
      }, 150);
    });

    form.addEventListener("click", function (event) {
      var clear = event.target.closest("[data-pad-clear]");
      if (clear) pads[clear.getAttribute("data-pad-clear")].clear();
    });

    photoInput.addEventListener("change", function () {
      var file = photoInput.files && photoInput.files[0];
      if (!file) return;
      photoNote.textContent = msg("photo-busy");
      submitButton.disabled = true;
      downscale(file)
        .then(
          function (result) {
            photo = result.url;
            var k = Math.min(1, 320 / result.canvas.width);
            preview.width = Math.round(result.canvas.width * k);
            preview.height = Math.round(result.canvas.height * k);
            preview.getContext("2d").drawImage(result.canvas, 0, 0, preview.width, preview.height);
            preview.hidden = false;
            photoRemove.hidden = false;
            photoNote.textContent = Math.round(bytesOf(photo) / 1024) + " KB";
          },
          function () {
            photo = null;
            photoNote.textContent = msg("photo-bad");
          }
        )
        .then(function () {
          submitButton.disabled = false;
          photoInput.value = ""; // the same photo may be chosen again after removing it
        });
    });

    photoRemove.addEventListener("click", function () {
      photo = null;
      preview.hidden = true;
      photoRemove.hidden = true;
      photoNote.textContent = "";
    });

    function lock(locked) {
      Array.prototype.forEach.call(form.elements, function (el) {
        el.disabled = locked;
      });
      form.classList.toggle("is-locked", locked);
    }

    function signed(number) {
      form.hidden = true;
      var fail = document.getElementById("visit-fail");
      if (fail) fail.hidden = true;
      var badge = document.getElementById("visit-state-badge");
      if (badge) {
        badge.textContent = msg("state-signed");
        badge.className = "badge visit-state state-signed";
      }
      setStatus("signed", msg("signed") + " " + number);
    }

    function queued() {
      lock(true);
      var fail = document.getElementById("visit-fail");
      if (fail) fail.hidden = true;
      setStatus("queued", problem === "sign-in" ? msg("sign-in") : msg("queued"));
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!pads.signature.hasInk() || !pads.countersignature.hasInk()) {
        setStatus("refused", msg("sign-both"));
        return;
      }
      var proxy = document.getElementById("id_by_proxy");
      var item = {
        key: uuid(),
        user: USER,
        payment: payment,
        number: form.getAttribute("data-number"),
        name: form.getAttribute("data-name"),
        url: form.getAttribute("data-url"),
        list: form.getAttribute("data-list"),
        signature: pads.signature.png(),
        countersignature: pads.countersignature.png(),
        photo: photo,
        signed_at: new Date().toISOString(),
        device: navigator.userAgent,
        cadres: form.elements.cadres ? form.elements.cadres.value : "",
        by_proxy: Boolean(proxy && proxy.checked),
        queued_at: Date.now(),
        status: "waiting",
        error: "",
      };
      submitted = item.key;
      lock(true);
      setStatus("sending", msg("saving"));
      store
        .put(item)
        .then(
          function () {
            setStatus("sending", msg("sending"));
            return flush();
          },
          function () {
            // Not kept on the tablet: send it now and say so if that fails.
            setStatus("sending", msg("not-saved"));
            return send(item).then(function (result) {
              if (result.outcome === "sent") {
                emit("sent", { item: item, body: result.body });
                return;
              }
              submitted = "";
              lock(false);
              if (result.outcome === "refused") setStatus("refused", result.error);
              else setStatus("lost", msg("lost"));
            });
          }
        );
    });

    document.addEventListener("visit:sent", function (event) {
      if (event.detail.item.payment === payment) signed(event.detail.body.number);
    });

    document.addEventListener("visit:refused", function (event) {
      var item = event.detail.item;
      if (item.key !== submitted) return;
      // The person is here: say why, and let them sign again (with a new key).
      store.remove(item.key).then(render);
      submitted = "";
      lock(false);
      setStatus("refused", item.error);
    });

    document.addEventListener("visit:flushed", function (event) {
      // Only a flush stopped by the connection leaves this page's receipt
      // waiting; otherwise another round is already on its way.
      if (!event.detail.problem) return;
      store.all().then(function (items) {
        var waiting = items.some(function (item) {
          return item.payment === payment && item.status !== "refused";
        });
        if (waiting) queued();
      });
    });

    // A receipt for this household is already on the tablet: it is sent,
    // not signed a second time.
    store.all().then(function (items) {
      if (items.some(function (item) {
        return item.payment === payment && item.status !== "refused";
      })) {
        queued();
      }
    });
  }

  // -- when to send -----------------------------------------------------------------

  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flush();
  });
  window.setInterval(flush, RETRY_MS);
  render().then(flush);
})();
