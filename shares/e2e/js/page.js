// The landing page of an encrypted share: the key comes from the URL's fragment, never from the server.
(function () {
  "use strict";
  var box = document.getElementById("e2e");
  var status = document.getElementById("status");
  var button = document.getElementById("download");
  var blobLimit = Number(box.getAttribute("data-blob-limit"));
  var MESSAGES = {
    INSECURE: "Browsers decrypt only on https pages (or on localhost): ask the sender for the https link, or use 'python manage.py pasla get' with this link.",
    NO_KEY: "This link has no key: the part after # is missing. Ask the sender for the whole link.",
    BAD_KEY: "The key in this link (after #k=) is damaged or cut off. Ask the sender for the whole link.",
    WRONG_KEY: "This key does not open this file: the link is wrong or incomplete. Nothing was decrypted.",
    FORMAT: "This is not a file pasla encrypted, or this page is too old for it.",
    ALTERED: "The file was altered on its way here: the download was stopped. Nothing altered was saved as complete.",
    GONE: "This link has ended (expired, stopped or used up).",
    CHANGED: "The file changed on the server while downloading; start again.",
    NETWORK: "The connection broke too many times; try again.",
    HTTP: "The server refused the download.",
  };

  function show(text, bad) {
    status.textContent = text;
    status.className = bad ? "note bad" : "note";
  }
  function human(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i ? n.toFixed(1) + " " + units[i] : n + " B";
  }
  function failed(e) { show(MESSAGES[e.code] || String(e), true); }

  async function viaWorker(secret, opened) {
    var base = location.pathname;
    var registration = await navigator.serviceWorker.register(base + "?pasla-worker=1", { scope: base.replace(/[^/]*$/, "") });
    var worker = registration.active || registration.waiting || registration.installing;
    if (worker.state !== "activated") {
      await new Promise(function (resolve) {
        worker.addEventListener("statechange", function () { if (worker.state === "activated") resolve(); });
      });
    }
    var id = Array.from(crypto.getRandomValues(new Uint8Array(12)), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    var channel = new BroadcastChannel("pasla-e2e");
    channel.onmessage = function (event) {
      var m = event.data;
      if (m.id !== id) return;
      if (m.error) failed({ code: m.error });
      else if (m.finished) show("Saved: " + opened.meta.name + " (decrypted in this browser).");
      else show("Decrypting into your downloads: " + human(m.done) + " of " + human(m.size));
    };
    await new Promise(function (resolve) {
      var pipe = new MessageChannel();
      pipe.port1.onmessage = resolve;
      worker.postMessage({ type: "save", id: id, secret: secret, salt: opened.salt, meta: opened.meta,
                           url: location.origin + base }, [pipe.port2]);
    });
    var frame = document.createElement("iframe");
    frame.hidden = true;
    frame.src = base + "?pasla-save=" + id;
    document.body.appendChild(frame);
  }

  async function viaFilePicker(opened) {
    var handle = await window.showSaveFilePicker({ suggestedName: opened.meta.name });
    var writable = await handle.createWritable();
    await E2E.plaintext(location.origin + location.pathname, opened, function (done, size) {
      show("Decrypting to disk: " + human(done) + " of " + human(size));
    }).pipeTo(writable);
    show("Saved: " + opened.meta.name + " (decrypted in this browser).");
  }

  async function viaMemory(opened) {
    var blob = await new Response(E2E.plaintext(location.origin + location.pathname, opened, function (done, size) {
      show("Decrypting in memory: " + human(done) + " of " + human(size));
    })).blob();
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = opened.meta.name;
    document.body.appendChild(link);
    link.click();
    show("Saved: " + opened.meta.name + " (decrypted in this browser's memory).");
  }

  async function main() {
    var secret, opened, head = E2E.unb64(box.getAttribute("data-head"));
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) { failed({ code: "INSECURE" }); return; }
    try {
      secret = E2E.keyFromHash(location.hash);
      opened = await E2E.openHead(secret, head);
    } catch (e) { failed(e); return; }
    opened.salt = head.slice(0, 16);
    var meta = opened.meta;
    document.title = meta.name + " · download";
    document.getElementById("name").textContent = meta.name;
    document.getElementById("size").textContent = human(meta.size) + " (" + meta.size + " bytes)";
    document.getElementById("sha256").textContent = meta.sha256 || "not computed";
    var streams = window.isSecureContext && "serviceWorker" in navigator;
    var picker = window.isSecureContext && "showSaveFilePicker" in window;
    if (!streams && !picker) {
      if (meta.size > blobLimit) {
        show("This browser cannot save a stream from this page (plain http to another machine: ask for the https link, or use 'pasla get'). It decrypts in memory only up to " + human(blobLimit) + ".", true);
        return;
      }
      show("This browser cannot save a stream here: the file is decrypted in memory (up to " + human(blobLimit) + ").");
    } else {
      show("Decrypted in this browser; the server never sees the key.");
    }
    button.disabled = false;
    button.addEventListener("click", async function () {
      button.disabled = true;
      try {
        // A service worker can be refused (a certificate the user clicked through): then the next way.
        if (streams && (await viaWorker(secret, opened).then(function () { return true; }, function () { return false; }))) return;
        if (picker) await viaFilePicker(opened);
        else if (opened.meta.size <= blobLimit) await viaMemory(opened);
        else show("This browser cannot save a stream from this page; use 'python manage.py pasla get' with this link.", true);
      } catch (e) {
        failed(e);
        button.disabled = false;
      }
    });
  }
  main();
})();
