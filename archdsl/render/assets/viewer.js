// archdsl's diagram viewer: shows one of the page's graphviz SVG views at a time, with pan and
// zoom, the scope tree as an outline, a search box, and an info panel for the node under the
// pointer. Reads its data from <script id="archdsl-data"> and the views from
// <template class="archdsl-view"> elements, both written by archdsl/render/html.py.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("archdsl-data").textContent);
  const templates = Array.from(document.querySelectorAll("template.archdsl-view"));
  const canvas = document.getElementById("canvas");
  const info = document.getElementById("info");
  const outline = document.getElementById("outline");
  const search = document.getElementById("search");
  const results = document.getElementById("results");
  const crumbs = document.getElementById("crumbs");

  const scopeByPath = new Map(data.scopes.map((s) => [s.path, s]));
  const viewOfScope = new Map();        // scope path -> index of the view that opens it
  data.views.forEach((v, i) => viewOfScope.set(v.scope, i));
  // key -> [[view index, graphviz name, "node" | "outside" | "cluster"], ...]: where each key
  // is drawn ("outside": as a node outside the view's scope)
  const drawn = new Map();
  function note(key, at) {
    if (!drawn.has(key)) drawn.set(key, []);
    drawn.get(key).push(at);
  }
  data.views.forEach((v, i) => {
    const outside = new Set(v.outside);
    for (const [name, key] of Object.entries(v.nodes)) {
      note(key, [i, name, outside.has(name) ? "outside" : "node"]);
    }
    for (const [name, scope] of Object.entries(v.clusters)) note(scope, [i, name, "cluster"]);
  });

  let current = -1;          // index of the view shown
  let svg = null;            // its <svg> element
  let home = null;           // its initial viewBox [x, y, w, h]
  let box = null;            // the viewBox shown
  let pinned = null;         // key whose info stays up after the pointer leaves
  let history = [];          // views opened before the current one

  // ------------------------------------------------------------------ numbers and text

  function exact(n) { return Number(n).toLocaleString("en-US"); }
  function short(n) {
    n = Number(n);
    for (const [d, u] of [[1e9, "G"], [1e6, "M"], [1e3, "K"]]) {
      // three significant digits, trailing zeros after the point dropped: 180K, 1.5M, 25.6M
      if (Math.abs(n) >= d) return (n / d).toPrecision(3).replace(/\.(\d*?)0+$/, ".$1").replace(/\.$/, "") + u;
    }
    return String(n);
  }
  function shape(s) { return (s || []).join("\u00d7"); }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  function argText(v) { return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v); }

  // ------------------------------------------------------------------ views, pan and zoom

  function setBox(b) {
    box = b;
    svg.setAttribute("viewBox", b.join(" "));
  }

  // A view opens whole if it fits at a readable scale; a tall one (a whole network) opens at
  // its top, fitted to the width but never enlarged beyond graphviz's size.
  function start() {
    const cw = canvas.clientWidth, ch = canvas.clientHeight;
    const k = Math.min(1, cw / home[2]);
    if (ch / k >= home[3] || Math.min(cw / home[2], ch / home[3]) >= 0.6) return home.slice();
    const w = cw / k, h = ch / k;
    return [home[0] + (home[2] - w) / 2, home[1], w, h];
  }

  function show(i, remember) {
    if (i === current) return;
    if (remember && current >= 0) history.push(current);
    current = i;
    canvas.replaceChildren(templates[i].content.cloneNode(true));
    svg = canvas.querySelector("svg");
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    home = svg.getAttribute("viewBox").trim().split(/[\s,]+/).map(Number);
    setBox(start());
    const view = data.views[i];
    for (const g of svg.querySelectorAll("g.node")) {
      const name = g.querySelector("title").textContent;
      const key = view.nodes[name];
      if (key === undefined) continue;
      g.dataset.key = key;
      if (viewOfScope.has(key) && key !== view.scope) g.classList.add("opens");
      g.querySelector("title").remove();   // the info panel replaces the browser's tooltip
    }
    for (const g of svg.querySelectorAll("g.cluster")) {
      const name = g.querySelector("title").textContent;
      if (view.clusters[name] !== undefined) g.dataset.scope = view.clusters[name];
      g.querySelector("title").remove();
    }
    renderCrumbs();
    markOutline(view.scope);
  }

  function elementOf(key) {
    if (!svg) return null;
    const esc = CSS.escape(key);
    return svg.querySelector(`g.node[data-key="${esc}"]`) ||
           svg.querySelector(`g.cluster[data-scope="${esc}"]`);
  }

  // Zoom to `target` (an element of the shown svg): its box times `margin`, at most 2x the
  // natural size (graphviz's points), so a small node in a huge view comes out readable.
  function focus(target, margin) {
    const r = target.getBoundingClientRect();
    const m = svg.getScreenCTM().inverse();
    const a = new DOMPoint(r.left, r.top).matrixTransform(m);
    const b = new DOMPoint(r.right, r.bottom).matrixTransform(m);
    const aspect = canvas.clientHeight / canvas.clientWidth;
    const w = Math.max((b.x - a.x) * margin, (b.y - a.y) * margin / aspect,
                       canvas.clientWidth / 2);
    const h = w * aspect;
    setBox([(a.x + b.x) / 2 - w / 2, (a.y + b.y) / 2 - h / 2, w, h]);
  }

  function zoom(factor, cx, cy) {
    const [x, y, w, h] = box;
    if (cx === undefined) { cx = x + w / 2; cy = y + h / 2; }
    setBox([cx - (cx - x) * factor, cy - (cy - y) * factor, w * factor, h * factor]);
  }

  function toSvg(ev) {
    return new DOMPoint(ev.clientX, ev.clientY).matrixTransform(svg.getScreenCTM().inverse());
  }

  canvas.addEventListener("wheel", (ev) => {
    if (!svg) return;
    ev.preventDefault();
    const p = toSvg(ev);
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    if (!svg || ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, box: box.slice(), moved: false };
  });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) { drag.moved = true; canvas.setPointerCapture(ev.pointerId); }
    const s = drag.box[2] / canvas.clientWidth;
    const t = drag.box[3] / canvas.clientHeight;
    const k = Math.max(s, t);   // preserveAspectRatio meet: one scale for both axes
    setBox([drag.box[0] - dx * k, drag.box[1] - dy * k, drag.box[2], drag.box[3]]);
  });
  window.addEventListener("pointerup", (ev) => {
    if (drag && drag.moved) canvas.classList.add("dragged");
    drag = null;
  });

  document.getElementById("zoom-in").onclick = () => zoom(1 / 1.4);
  document.getElementById("zoom-out").onclick = () => zoom(1.4);
  document.getElementById("zoom-fit").onclick = () => setBox(home.slice());
  canvas.addEventListener("keydown", (ev) => {
    if (ev.key === "+" || ev.key === "=") zoom(1 / 1.4);
    else if (ev.key === "-") zoom(1.4);
    else if (ev.key === "0") setBox(home.slice());
    else if (ev.key === "Backspace" && history.length) show(history.pop(), false);
  });

  // ------------------------------------------------------------------ the info panel

  function describe(key) {
    const n = data.nodes[key];
    const s = scopeByPath.get(key);
    info.replaceChildren();
    if (key === "") {
      info.append(el("h2", {}, data.name), el("p", {}, totalsText()));
      return;
    }
    if (!n && !s) return;
    info.append(el("h2", {}, key));
    const rows = [];
    if (n && n.kind === "scope") {
      rows.push(["scope", (s && s.kind) || n.op]);
      rows.push(["ops", exact(n.members)]);
    } else if (n) {
      rows.push(["op", n.op]);
    } else {
      rows.push(["scope", s.kind]);
    }
    if (n) {
      rows.push(["output shape", shape(n.shape)]);
      rows.push(["params", exact(n.params) + (n.params >= 1000 ? ` (${short(n.params)})` : "")]);
      rows.push(["FLOPs", exact(n.flops) + (n.flops >= 1000 ? ` (${short(n.flops)})` : "")]);
    }
    const table = el("table", { class: "facts" });
    for (const [k, v] of rows) {
      table.append(el("tr", { "data-fact": k }, el("th", {}, k), el("td", {}, v)));
    }
    info.append(table);
    if (n && n.kind === "op" && Object.keys(n.args).length) {
      const args = el("table", { class: "args" });
      for (const [k, v] of Object.entries(n.args)) {
        args.append(el("tr", { "data-arg": k }, el("th", {}, k), el("td", {}, argText(v))));
      }
      info.append(el("h3", {}, "arguments"), args);
    }
    if (n && n.inputs && n.inputs.length > 1) {
      // every input in order: a merge drawn with a bus edge (dense blocks) hides most of them
      const list = el("ol", { class: "inputs" });
      for (const k of n.inputs) {
        const a = el("a", { href: "#", "data-key": k }, k);
        a.onclick = (ev) => { ev.preventDefault(); reveal(k); };
        list.append(el("li", {}, a));
      }
      info.append(el("h3", {}, `inputs (${n.inputs.length})`), list);
    }
    if (viewOfScope.has(key) && data.views[current].scope !== key) {
      const b = el("button", { class: "open" }, "open " + key);
      b.onclick = () => openScope(key);
      info.append(b);
    } else if (n && n.kind === "scope" && !viewOfScope.has(key) &&
               !(drawn.get(key) || []).some((p) => p[2] === "cluster")) {
      info.append(el("p", { class: "hint" }, "Not drawn open in this page (too many " +
        "views): `archdsl render --scope " + key + "` draws it."));
    }
  }

  function highlight(key) {
    for (const g of canvas.querySelectorAll(".hl")) g.classList.remove("hl");
    const e = elementOf(key);
    if (e) e.classList.add("hl");
    return e;
  }

  canvas.addEventListener("pointerover", (ev) => {
    const g = ev.target.closest && ev.target.closest("g.node");
    if (g && g.dataset.key && !drag) describe(g.dataset.key);
  });
  canvas.addEventListener("pointerleave", () => { if (pinned) describe(pinned); });
  canvas.addEventListener("click", (ev) => {
    if (canvas.classList.contains("dragged")) { canvas.classList.remove("dragged"); return; }
    const g = ev.target.closest && ev.target.closest("g.node");
    if (!g || !g.dataset.key) {
      // a click inside a cluster (outside its nodes) pins that scope's figures
      const c = ev.target.closest && ev.target.closest("g.cluster");
      if (c && c.dataset.scope) { pinned = c.dataset.scope; highlight(pinned); describe(pinned); }
      return;
    }
    const key = g.dataset.key;
    if (g.classList.contains("opens")) { openScope(key); return; }
    pinned = key;
    highlight(key);
    describe(key);
  });

  // ------------------------------------------------------------------ navigation

  // Open scope `path`: its own view if the page has one, else the view that draws it (the
  // shown one first), zoomed to it.
  function openScope(path) {
    if (viewOfScope.has(path)) {
      show(viewOfScope.get(path), true);
      pinned = path;
      describe(path);
      return;
    }
    reveal(path);
  }

  // Show `key` (an op or a scope) where it is drawn, zoomed to it and highlighted; a key drawn
  // nowhere (its scope has no view) is shown through the nearest enclosing scope drawn.
  function reveal(key) {
    let places = drawn.get(key) || [];
    let target = key;
    while (!places.length && target.includes(".")) {
      target = target.slice(0, target.lastIndexOf("."));
      places = drawn.get(target) || [];
    }
    if (!places.length) return;
    // where it is drawn as itself, in this view first; else as an outside node
    const own = places.filter((p) => p[2] !== "outside");
    const pick = (ps) => ps.find((p) => p[0] === current) || ps[0];
    const [i] = pick(own.length ? own : places);
    show(i, true);
    const e = highlight(target);
    if (e) focus(e, e.classList.contains("cluster") ? 1.1 : 6);
    pinned = key;
    describe(key);
    markOutline(scopeByPath.has(key) ? key : data.views[current].scope);
  }

  function renderCrumbs() {
    crumbs.replaceChildren();
    const scope = data.views[current].scope;
    const chain = [];
    for (let p = scope; p; p = (scopeByPath.get(p) || {}).parent || "") chain.unshift(p);
    const top = el("button", {}, data.name);
    top.onclick = () => { show(0, true); describe(""); };
    crumbs.append(top);
    for (const p of chain) {
      const s = scopeByPath.get(p);
      const b = el("button", {}, s ? s.name : p);
      b.onclick = () => openScope(p);
      crumbs.append(" \u203a ", b);
    }
  }

  // ------------------------------------------------------------------ outline

  const items = new Map();     // scope path -> its outline <li>
  function buildOutline() {
    const root = el("ul", { class: "tree" });
    const lists = new Map([["", root]]);
    const top = el("li", {}, el("button", { class: "scope", "data-path": "" }, data.name));
    top.firstChild.onclick = () => { show(0, true); pinned = null; describe(""); };
    root.append(top);
    for (const s of data.scopes) {
      const parent = lists.get(s.parent) || root;
      const b = el("button", { class: "scope", "data-path": s.path, title: s.path },
                   s.name, " ", el("i", {}, s.kind === "group" ? "" : s.kind));
      b.onclick = () => openScope(s.path);
      const li = el("li", {}, b);
      if (s.aux) li.classList.add("aux");
      parent.append(li);
      items.set(s.path, li);
      const sub = el("ul", {});
      li.append(sub);
      lists.set(s.path, sub);
    }
    for (const [path, ul] of lists) {
      if (path && !ul.children.length) ul.remove();
      else if (path) {
        const li = items.get(path);
        const t = el("span", { class: "twist", role: "button", "aria-label": "fold" }, "\u25be");
        t.onclick = () => li.classList.toggle("folded");
        li.prepend(t);
        // the outline opens on the top two levels of the scope tree
        if (scopeByPath.get(path).parent) li.classList.add("folded");
      }
    }
    outline.append(root);
  }

  function markOutline(path) {
    for (const b of outline.querySelectorAll(".current")) b.classList.remove("current");
    const b = outline.querySelector(`button[data-path="${CSS.escape(path || "")}"]`);
    if (!b) return;
    b.classList.add("current");
    for (let li = b.parentElement; li && li !== outline; li = li.parentElement) {
      if (li.tagName === "LI") li.classList.remove("folded");
    }
    b.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------ search

  const keys = Array.from(new Set([...Object.keys(data.nodes), ...scopeByPath.keys()]));
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    const hits = [];
    for (const k of keys) {
      const lk = k.toLowerCase();
      const at = lk.indexOf(q);
      if (at < 0) continue;
      // exact match, then a match at a name boundary, then anywhere; shorter paths first
      const rank = lk === q ? 0 : (at === 0 || ".#".includes(lk[at - 1])) ? 1 : 2;
      hits.push([rank, k.length, k]);
    }
    hits.sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : 1));
    return hits.slice(0, 30).map((h) => h[2]);
  }
  function listResults() {
    const hits = find(search.value);
    results.replaceChildren(...hits.map((k) => {
      const n = data.nodes[k], s = scopeByPath.get(k);
      const li = el("li", { role: "option", "data-key": k }, k, " ",
                    el("i", {}, s ? s.kind : n.op));
      li.onmousedown = (ev) => { ev.preventDefault(); choose(k); };
      return li;
    }));
    results.hidden = !search.value.trim();
    if (search.value.trim() && !hits.length) results.append(el("li", { class: "none" }, "no match"));
  }
  function choose(k) {
    results.hidden = true;
    search.blur();
    reveal(k);
  }
  search.addEventListener("input", listResults);
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      const first = results.querySelector("li[data-key]");
      if (first) choose(first.dataset.key);
    } else if (ev.key === "Escape") { results.hidden = true; }
  });
  search.addEventListener("blur", () => { results.hidden = true; });
  search.addEventListener("focus", () => { if (search.value.trim()) listResults(); });

  // ------------------------------------------------------------------ start

  function totalsText() {
    const t = data.totals;
    return `${short(t.params)} params \u00b7 ${short(t.flops)} FLOPs \u00b7 out ${shape(t.shape)}`;
  }
  document.getElementById("net-totals").textContent = totalsText();
  buildOutline();
  show(0, false);
  window.archdslViewer = { show, openScope, reveal, describe, get current() { return current; } };
})();
