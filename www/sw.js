// Lookout's service worker: keeps the app shell (index.html and the hashed wasm, js and css
// Trunk emits) in a cache so the page opens with no network. Plain JS: it is the platform's API.
//
// One cache per build, named after the build's asset list (Trunk hashes every file name, so the
// list changes exactly when the build does). index.html and the assets it names are cached
// together and a build becomes current only once all of them are in its cache, so a page never
// gets the index of one build with the js or wasm of another. Old builds' caches are deleted
// on activate and whenever a newer build has been cached.
//
// Navigations and the shell are cache-first; each navigation also checks the network for a
// newer index.html in the background (it is used from the next load on). The stream
// (/api/v1/stream, a WebSocket, never seen here), the API, `/embed` and anything else pass
// straight to the network.

const PREFIX = "lookout-shell-";
const META = "lookout-shell-meta";
const SHELL_FILES = /["']([^"'<>\s]+\.(?:js|wasm|css|webmanifest|svg|png))["']/g;
// `/embed` too: it is framed by other sites under its own policy (`frame-ancestors`), which a
// cached copy of the app's index.html (framed by its own origin only) would replace.
const NETWORK_ONLY = /^\/(?:api\/|-\/|metrics$|sw\.js$|embed(?:\/|$))/;

function scopeUrl(path) {
  return new URL(path, self.registration.scope).href;
}

// FNV-1a of the sorted asset list: the build's name.
function buildName(assets) {
  let h = 0x811c9dc5;
  for (const c of assets.join("\n")) {
    h ^= c.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return PREFIX + h.toString(16).padStart(8, "0");
}

async function currentBuild() {
  const meta = await caches.open(META);
  const r = await meta.match("current");
  return r ? r.text() : null;
}

// One update at a time, in the order they were asked for: an older check finishing late must not
// make its build current over a newer one.
let updating = Promise.resolve();
function cacheBuild() {
  const next = updating.then(fetchBuild, fetchBuild);
  updating = next.catch(() => {});
  return next;
}

// Fetches index.html and every file it names into the build's cache, then makes it current.
async function fetchBuild() {
  const indexUrl = scopeUrl("./");
  const index = await fetch(indexUrl, { cache: "no-store" });
  if (!index.ok) throw new Error(`index.html: HTTP ${index.status}`);
  const html = await index.clone().text();
  const assets = new Set([scopeUrl("manifest.webmanifest")]);
  for (const m of html.matchAll(SHELL_FILES)) {
    const u = new URL(m[1], indexUrl);
    if (u.origin === self.location.origin) assets.add(u.href);
  }
  const list = [...assets].sort();
  const name = buildName(list);
  if (name === (await currentBuild())) return name;
  const cache = await caches.open(name);
  // addAll fails as a whole: a build with a missing file never becomes current.
  await cache.addAll(list.map((u) => new Request(u, { cache: "no-store" })));
  await cache.put(indexUrl, index);
  const meta = await caches.open(META);
  await meta.put("current", new Response(name));
  await dropOldBuilds(name);
  return name;
}

async function dropOldBuilds(keep) {
  for (const k of await caches.keys()) {
    if (k.startsWith(PREFIX) && k !== keep && k !== META) await caches.delete(k);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheBuild().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const name = await currentBuild();
      if (name) await dropOldBuilds(name);
      await self.clients.claim();
    })(),
  );
});

async function fromShell(request, key) {
  const name = await currentBuild();
  if (name) {
    // caches.match, not caches.open: opening a build an update has just deleted would
    // create it again, empty.
    const hit = await caches.match(key || request, { cacheName: name, ignoreSearch: !!key });
    if (hit) return hit;
  }
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || NETWORK_ONLY.test(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(fromShell(request, scopeUrl("./")));
    // A newer build is fetched while the page runs and served from the next load on.
    event.waitUntil(cacheBuild().catch(() => {}));
    return;
  }
  event.respondWith(fromShell(request));
});
