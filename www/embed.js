// Lookout's embed loader: defines <lookout-panel> for a host page.
//
//   <script src="https://RELAY/embed.js" type="module"></script>
//   <lookout-panel dashboard="services-overview" panel="3" from="now-1h" theme="light"></lookout-panel>
//
// Attributes: relay (default: where this script came from), dashboard (a starter's uid) or expr
// (a query) or def (a dashboard's JSON), panel or row, from, to, var-<name>, theme
// (light|dark|auto), transparent, token. Every element on the page shares one wasm instance, one
// store and one connection per relay; each renders in its own open shadow root, so host CSS
// cannot reach it and its CSS cannot reach the host. `cargo xtask build-ui` writes this file into
// dist/ with the build's hashed file names filled in.
const here = new URL(import.meta.url);
const GLUE = new URL("__LOOKOUT_GLUE__", here).href;
const WASM = new URL("__LOOKOUT_WASM__", here).href;
const CSS = new URL("__LOOKOUT_CSS__", here).href;

// The wasm's start function mounts the whole app on <body> unless told it serves elements.
globalThis.__lookoutElements = true;
let ready = null;
function load() {
  if (!ready) {
    ready = import(GLUE).then(async (m) => {
      await m.default({ module_or_path: WASM });
      return m;
    });
  }
  return ready;
}

class LookoutPanel extends HTMLElement {
  connectedCallback() {
    if (this.mounted) return;
    // A new view each time the element (re)joins the page; the store and connection it reads
    // are shared and stay.
    const root = this.shadowRoot || this.attachShadow({ mode: "open" });
    root.replaceChildren();
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = CSS;
    const mount = document.createElement("div");
    mount.className = "lookout-element";
    mount.setAttribute("role", "figure");
    const status = document.createElement("p");
    status.className = "embed-status";
    status.textContent = "Loading Lookout…";
    mount.append(status);
    root.append(css, mount);
    const relay = this.getAttribute("relay") || here.origin;
    const attrs = [];
    for (const a of this.attributes) attrs.push([a.name, a.value]);
    this.mounted = mount;
    load().then(
      (m) => {
        if (this.mounted !== mount) return; // left the page while the wasm loaded
        status.remove();
        this.view = m.mount_element(mount, relay, attrs);
      },
      (e) => {
        // A relay that does not list this site among its embed origins sends no CORS headers,
        // so the browser refuses its files: say so in the element rather than leave a blank box.
        status.className = "embed-error error";
        status.setAttribute("role", "alert");
        status.textContent =
          `Lookout could not load from ${relay}: this site (${location.origin}) is not among ` +
          `the relay's embed origins (--embed-origin), or the relay cannot be reached. (${e})`;
        mount.dataset.state = "refused";
      },
    );
  }

  disconnectedCallback() {
    // Unmounts the view: panels nobody sees stop evaluating.
    if (this.view) this.view.free();
    this.view = null;
    this.mounted = null;
  }
}

if (!customElements.get("lookout-panel")) customElements.define("lookout-panel", LookoutPanel);
