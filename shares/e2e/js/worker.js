// The service worker of an encrypted share's page: answers one navigation per download with the
// decrypted stream, so the browser's own download manager writes it to disk as it arrives.
"use strict";
var jobs = new Map();
var channel = new BroadcastChannel("pasla-e2e");

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("message", function (event) {
  var job = event.data;
  if (job && job.type === "save" && typeof job.id === "string") {
    jobs.set(job.id, job);
    event.ports[0].postMessage("ready");
  }
});

self.addEventListener("fetch", function (event) {
  var id = new URL(event.request.url).searchParams.get("pasla-save");
  var job = id && jobs.get(id);
  if (!job) return;  // everything else goes to the network untouched
  jobs.delete(id);
  event.respondWith((async function () {
    var opened = { keys: await E2E.keys(job.secret, job.salt), meta: job.meta };
    var stream = E2E.plaintext(job.url, opened, function (done, size) {
      channel.postMessage({ id: id, done: done, size: size });
    });
    var reader = stream.getReader();
    var watched = new ReadableStream({
      pull: async function (controller) {
        try {
          var got = await reader.read();
          if (got.done) { controller.close(); channel.postMessage({ id: id, finished: true }); return; }
          controller.enqueue(got.value);
        } catch (e) {
          channel.postMessage({ id: id, error: e.code || "NETWORK" });
          controller.error(e);
        }
      },
      cancel: function (reason) { reader.cancel(reason); },
    }, { highWaterMark: 2 });
    return new Response(watched, { headers: {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": E2E.disposition(job.meta.name),
      "Content-Length": String(job.meta.size),
      "Cache-Control": "no-store",
    } });
  })());
});
