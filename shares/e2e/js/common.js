// pasla-e2e-1 in the browser (docs/e2e.md): WebCrypto only, shared by the page and its service worker.
var E2E = (function () {
  "use strict";
  var RS = 65536, TAG = 16, HEADER = 21, D = RS - 17, HEAD = HEADER + RS, RETRIES = 5;
  var text = new TextEncoder();

  function records(size) { return Math.max(1, Math.ceil(size / D)); }
  function recordStart(i) { return HEADER + i * RS; }
  function recordLength(i, size) {
    var lo = (i - 1) * D;
    return Math.min(size, lo + D) - lo + 1 + TAG;
  }

  function fail(code, detail) {
    var error = new Error(detail || code);
    error.code = code;
    return error;
  }

  function unb64(value) {
    var bin = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // The secret from "#k=<22 base64url characters>": the server never sees it.
  function keyFromHash(hash) {
    var found = /(?:^#|&)k=([^&]*)/.exec(hash || "");
    if (!found) throw fail("NO_KEY");
    if (!/^[A-Za-z0-9_-]{22}$/.test(found[1])) throw fail("BAD_KEY");
    return unb64(found[1] + "==");
  }

  async function keys(secret, salt) {
    var base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
    async function expand(info, size) {
      var params = { name: "HKDF", hash: "SHA-256", salt: salt, info: text.encode(info) };
      return new Uint8Array(await crypto.subtle.deriveBits(params, base, size * 8));
    }
    var cek = await expand("Content-Encoding: aes128gcm\0", 16);
    return {
      cek: await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]),
      nonce: await expand("Content-Encoding: nonce\0", 12),
    };
  }

  // RFC 8188: the record's nonce is the base nonce XOR its sequence number.
  function nonceFor(base, index) {
    var nonce = base.slice();
    for (var j = 0; j < 6; j++) nonce[11 - j] ^= Math.floor(index / Math.pow(256, j)) & 255;
    return nonce;
  }

  async function openRecord(k, index, data) {
    try {
      var params = { name: "AES-GCM", iv: nonceFor(k.nonce, index), tagLength: 128 };
      return new Uint8Array(await crypto.subtle.decrypt(params, k.cek, data));
    } catch (e) {
      throw fail(index === 0 ? "WRONG_KEY" : "ALTERED", "record " + index + " failed authentication");
    }
  }

  // The header and metadata record (embedded in the page): keys and {name, size, sha256, content_type}.
  async function openHead(secret, head) {
    var view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (head.length !== HEAD || view.getUint32(16) !== RS || head[20] !== 0) throw fail("FORMAT");
    var k = await keys(secret, head.slice(0, 16));
    var plain = await openRecord(k, 0, head.subarray(HEADER, HEAD));
    var end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0 || plain[end - 1] !== 1) throw fail("FORMAT");
    var meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain.subarray(0, end - 1)));
    if (meta.format !== "pasla-e2e-1" || typeof meta.name !== "string" || !(meta.size >= 0)) throw fail("FORMAT");
    return { keys: k, meta: meta };
  }

  // Whole records out of a ciphertext response body, resuming with Range/If-Range if it breaks.
  function Records(url, first) {
    this.url = url; this.next = first; this.pieces = []; this.held = 0;
    this.reader = null; this.etag = null; this.retries = 0; this.skip = 0;
  }
  Records.prototype.connect = async function () {
    var headers = {};
    if (this.etag) {
      headers.Range = "bytes=" + recordStart(this.next) + "-";
      headers["If-Range"] = this.etag;
    }
    var response = await fetch(this.url, { headers: headers, cache: "no-store", credentials: "same-origin" });
    if (response.status === 410) throw fail("GONE");
    if (!(response.status === 200 || (this.etag && response.status === 206))) throw fail("HTTP", "HTTP " + response.status);
    if (response.status === 200 && this.etag) throw fail("CHANGED");
    this.etag = response.headers.get("ETag");
    this.reader = response.body.getReader();
    this.pieces = []; this.held = 0;
    this.skip = response.status === 200 ? recordStart(this.next) : 0;  // a fresh GET starts at byte 0
  };
  Records.prototype.take = async function (need) {
    while (this.held < need + this.skip) {
      var got;
      try {
        if (!this.reader) await this.connect();
        got = await this.reader.read();
      } catch (e) {
        if (e.code || ++this.retries > RETRIES) throw e.code ? e : fail("NETWORK", String(e));
        this.reader = null;
        await new Promise(function (r) { setTimeout(r, 500 * this.retries); }.bind(this));
        continue;
      }
      if (got.done) {
        if (++this.retries > RETRIES) throw fail("NETWORK", "the connection kept closing");
        this.reader = null;
        continue;
      }
      this.pieces.push(got.value); this.held += got.value.length;
    }
    // Copy out exactly one record; what follows it stays in the pieces it came in.
    var record = new Uint8Array(need), at = 0, skip = this.skip;
    while (at < need) {
      var piece = this.pieces[0];
      if (skip >= piece.length) { skip -= piece.length; this.held -= piece.length; this.pieces.shift(); continue; }
      var count = Math.min(piece.length - skip, need - at);
      record.set(piece.subarray(skip, skip + count), at);
      at += count;
      if (skip + count === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(skip + count);
      this.held -= skip + count;
      skip = 0;
    }
    this.skip = 0;
    return record;
  };

  // The plaintext as a ReadableStream pulled record by record: memory stays at a few records.
  function plaintext(url, opened, progress) {
    var meta = opened.meta, k = opened.keys, last = records(meta.size), source = new Records(url, 1), done = 0;
    return new ReadableStream({
      pull: async function (controller) {
        if (source.next > last) { controller.close(); return; }
        var index = source.next;
        var plain = await openRecord(k, index, await source.take(recordLength(index, meta.size)));
        if (plain[plain.length - 1] !== (index === last ? 2 : 1)) throw fail("ALTERED", "record " + index + " is out of place");
        source.next++;
        done += plain.length - 1;
        controller.enqueue(plain.subarray(0, plain.length - 1));
        if (progress) progress(done, meta.size);
      },
      cancel: function () { if (source.reader) source.reader.cancel(); },
    }, { highWaterMark: 2 });
  }

  function disposition(name) {
    var plain = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
    return "attachment; filename=\"" + plain + "\"; filename*=UTF-8''" + encodeURIComponent(name);
  }

  return { HEAD: HEAD, keyFromHash: keyFromHash, unb64: unb64, openHead: openHead, keys: keys,
           plaintext: plaintext, disposition: disposition };
})();
