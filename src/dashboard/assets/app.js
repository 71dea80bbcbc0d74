/*
 * app.js - sterna's dashboard: polls GET /v1/dashboard (the figures) every 2 s and the queue
 * (GET /v1/queue, one page) every 3 s and the oldest deferred every 5 s, draws the chart itself (SVG), and acts on a message
 * through POST /v1/queue/{id}/{op}, the operations of `sterna queue`. Every text from the
 * server goes into the page as text (textContent), never as markup. No library, nothing
 * fetched from anywhere but the daemon.
 */
"use strict";
(() => {
  const FIGURES_MS = 2000, QUEUE_MS = 3000, DEFERRED_MS = 5000, HIDDEN_MS = 15000;
  const PAGE = 50;
  const SVGNS = "http://www.w3.org/2000/svg";
  const STATES = ["queued", "active", "deferred", "held", "scheduled"];
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);

  /* el("li", {class: "x", text: "y", data: {id: 1}}, child, ...) */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* ---- talking to the daemon ---- */
  async function api(path, opts) {
    const o = Object.assign({ credentials: "same-origin", cache: "no-store" }, opts || {});
    o.headers = Object.assign({ "Accept": "application/json" }, o.headers || {});
    if (o.method && o.method !== "GET") o.headers["X-CSRF-Token"] = csrf;
    const r = await fetch(path, o);
    if (r.status === 401) {
      location.assign("/dashboard/login");
      throw new Error("the session has ended");
    }
    let body = null;
    try { body = await r.json(); } catch (e) { /* no body */ }
    if (!r.ok) {
      const err = new Error(body && body.error ? body.error.message : "HTTP " + r.status);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  /* ---- numbers and times ---- */
  let skewMs = 0;	/* the server's clock minus ours */
  const nf = new Intl.NumberFormat();
  const num = (n) => nf.format(n || 0);
  const pct = (a, b) => b > 0 ? Math.round(100 * a / b) + "%" : "–";
  function age(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor(s % 86400 / 3600) + " h";
  }
  const since = (iso) => iso ? age((Date.now() + skewMs - Date.parse(iso)) / 1000) : "–";
  function clock(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    const old = Date.now() - d.getTime() > 20 * 3600 * 1000;
    return old ? d.toLocaleString() : d.toLocaleTimeString();
  }
  function until(iso) {
    if (!iso) return "–";
    const s = (Date.parse(iso) - Date.now() - skewMs) / 1000;
    return s <= 0 ? "due" : "in " + age(s);
  }
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const addr = (s) => s === "" ? "<>" : s;

  let toastTimer = null;
  function toast(msg) {
    const t = $("toast");
    t.textContent = msg;
    t.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => t.classList.remove("show"), 3500);
  }
  function setLive(state, why) {
    const l = $("live");
    l.dataset.state = state;
    l.textContent = state === "live" ? "live" : state === "error" ? "not updating" : "connecting…";
    l.title = why || "";
  }
  function fill(list, items, empty) {
    const nodes = items.length ? items : [el("li", { class: "empty", text: empty })];
    list.replaceChildren(...nodes);
  }
  function msgLink(id) {
    return el("button", { class: "link mono", type: "button", text: id, data: { open: id } });
  }

  /* ---- the chart: in (area and line), out (line), deferred and failed (bars) ---- */
  let lastMinutes = null;
  function niceMax(v) {
    if (v <= 4) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function drawChart(m) {
    lastMinutes = m;
    const box = $("chart");
    const W = box.clientWidth || 600, H = box.clientHeight || 220;
    const L = 40, R = 8, T = 10, B = 22;
    const n = m.in.length;
    const bad = m.deferred.map((d, i) => d + m.failed[i]);
    const max = niceMax(Math.max(...m.in, ...m.out, ...bad));
    const step = (W - L - R) / n;
    const x = (i) => L + step * (i + 0.5);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const start = Date.parse(m.start);
    const parts = [];

    box.setAttribute("viewBox", "0 0 " + W + " " + H);
    for (const v of [0, max / 2, max]) {
      parts.push(svg("line", { class: "grid-line", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      parts.push(svg("text", { class: "axis", x: L - 6, y: y(v) + 4, "text-anchor": "end" },
        num(Math.round(v))));
    }
    for (const i of W < 520 ? [0, 30, n - 1] : [0, 15, 30, 45, n - 1]) {
      const t = new Date(start + i * 60000);
      const label = i === n - 1 ? "now" : t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      parts.push(svg("text", { class: "axis", x: x(i), y: H - 6,
        "text-anchor": i === 0 ? "start" : i === n - 1 ? "end" : "middle" }, label));
    }
    bad.forEach((v, i) => {
      if (v > 0) parts.push(svg("rect", { class: "bar-bad", x: x(i) - step * 0.3, width: step * 0.6,
        y: y(v), height: y(0) - y(v), rx: 1 }));
    });
    const line = (a) => a.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
    parts.push(svg("path", { class: "area-in", d: line(m.in) + " L" + x(n - 1) + " " + y(0) + " L" + x(0) + " " + y(0) + " Z" }));
    parts.push(svg("path", { class: "line-in", d: line(m.in) }));
    parts.push(svg("path", { class: "line-out", d: line(m.out) }));
    for (let i = 0; i < n; i++) {
      const t = new Date(start + i * 60000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const r = svg("rect", { class: "hit", x: L + step * i, width: step, y: T, height: H - T - B });
      r.append(svg("title", {}, t + " — in " + m.in[i] + ", out " + m.out[i] + ", deferred " +
        m.deferred[i] + ", failed " + m.failed[i]));
      parts.push(r);
    }
    box.replaceChildren(...parts);
    box.dataset.totalIn = sum(m.in);
    box.dataset.totalOut = sum(m.out);
    box.dataset.lastIn = m.in[n - 1];
    $("chart-now").textContent = "This minute: " + num(m.in[n - 1]) + " in · " + num(m.out[n - 1]) +
      " out · " + num(m.deferred[n - 1]) + " deferred · " + num(m.failed[n - 1]) + " failed";
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => lastMinutes && drawChart(lastMinutes), 150);
  });

  /* ---- the figures ---- */
  function renderStates(q) {
    const total = q.total || 0;
    $("state-bar").replaceChildren(...STATES.filter((s) => q[s] > 0).map((s) => {
      const span = el("span", { class: "st-" + s, title: s + ": " + q[s] });
      span.style.flexGrow = q[s];
      return span;
    }));
    $("state-list").replaceChildren(...STATES.map((s) => el("li", {},
      el("span", {}, el("span", { class: "dot st-" + s }), s),
      el("span", { class: "n", text: num(q[s]) }))),
    el("li", {}, el("span", { text: "total" }), el("span", { class: "n", text: num(total) })));
  }
  function renderDests(rows) {
    const tb = $("dests").tBodies[0];
    if (!rows.length) {
      tb.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 6, text: "No delivery yet." })));
      return;
    }
    tb.replaceChildren(...rows.map((d) => {
      const bar = el("span", { class: d.deferral_rate >= 0.25 ? "high" : "" });
      bar.style.width = Math.round(100 * d.deferral_rate) + "%";
      return el("tr", {},
        el("td", { class: "addr", text: d.name }),
        el("td", { class: "num opt", text: num(d.connections) }),
        el("td", { class: "num", text: num(d.delivered) }),
        el("td", { class: "num", text: num(d.deferred) }),
        el("td", { class: "num opt", text: num(d.failed) }),
        el("td", {}, el("div", { class: "rate" }, el("div", { class: "bar" }, bar),
          el("span", { class: "pct", text: (100 * d.deferral_rate).toFixed(d.deferral_rate < 0.1 && d.deferral_rate > 0 ? 1 : 0) + "%" }))));
    }));
  }
  function renderBounces(list) {
    fill($("bounces"), list.map((b) => el("li", {},
      el("div", { class: "line1" },
        el("span", { class: "who", text: b.recipient }),
        el("span", { class: "when", text: since(b.time) + " ago" })),
      el("div", {},
        b.bounce ? el("span", { class: "badge " + b.bounce.class, text: b.bounce.category || b.type }) :
          el("span", { class: "badge failed", text: b.type }), " ",
        b.bounce ? el("span", { class: "muted small", text: b.bounce.class + " · " }) : null,
        msgLink(b.message_id)),
      el("div", { class: "why", text: [b.dsn, b.reply].filter(Boolean).join(" ") }))), "No bounce since the start.");
  }
  let seenEvents = new Set();
  function renderRecent(list) {
    const fresh = new Set();
    fill($("recent"), list.map((e) => {
      const key = e.time + e.type + e.message_id + e.recipient;
      fresh.add(key);
      const li = el("li", { class: seenEvents.size && !seenEvents.has(key) ? "fresh" : "" },
        el("div", { class: "line1" },
          el("span", { class: "who" }, el("span", { class: "badge " + e.type, text: e.type }), " ",
            el("span", { text: e.recipient })),
          el("span", { class: "when", text: clock(e.time) })),
        el("div", { class: "why" }, msgLink(e.message_id),
          " " + (e.type === "received" ? "from " + e.entrance + (e.tls ? ", TLS" : "") :
            [e.relay, e.dsn, e.reply].filter(Boolean).join(" "))));
      return li;
    }), "Waiting for mail…");
    seenEvents = fresh;
  }
  function render(d) {
    skewMs = Date.parse(d.now) - Date.now();
    $("host").textContent = d.host;
    const m = d.minutes, q = d.queue;
    drawChart(m);
    renderStates(q);
    renderDests(d.destinations);
    renderBounces(d.bounces);
    renderRecent(d.recent);
    const n = m.in.length;
    $("k-queue").textContent = num(q.total);
    $("k-queue-sub").textContent = num(q.recipients) + " recipients · " + num(q.held) + " held";
    $("k-in").textContent = num(sum(m.in));
    $("k-in-sub").textContent = num(m.in[n - 1]) + " this minute";
    $("k-out").textContent = num(sum(m.out));
    $("k-out-sub").textContent = num(sum(m.deferred)) + " deferred · " + num(sum(m.failed)) + " failed";
    $("k-sessions").textContent = num(d.sessions.smtp);
    $("k-sessions-sub").textContent = "SMTP · " + num(q.outbound_connections) + " outbound";
    $("k-tls").textContent = pct(d.tls.in.tls, d.tls.in.total) + " / " + pct(d.tls.out.tls, d.tls.out.total);
    $("k-tls-sub").textContent = "received / relayed";
    $("k-oldest").textContent = q.total ? age(q.oldest_age_s) : "–";
    $("k-oldest-sub").textContent = num(q.deferred) + " deferred";
  }

  /* ---- the queue, a page at a time ---- */
  const pages = [null];	/* the cursor ("after") of each page seen */
  let page = 0, nextCursor = null;
  function queueQuery() {
    const p = new URLSearchParams({ limit: PAGE });
    const st = $("f-state").value, text = $("f-text").value.trim();
    if (st) p.set("state", st);
    if (text) p.set($("f-field").value, text);
    if (pages[page]) p.set("after", pages[page]);
    return "/v1/queue?" + p.toString();
  }
  function lastReply(m) {
    const r = m.recipients.find((x) => x.last_reply);
    return r ? r.last_reply : "";
  }
  function queueRow(m) {
    const first = m.recipients[0] ? m.recipients[0].email : "";
    const more = m.recipients.length > 1 ? " +" + (m.recipients.length - 1) + " more" : "";
    return el("tr", { class: "click", data: { open: m.id }, tabindex: 0 },
      el("td", { "data-label": "ID", class: "mono", text: m.id }),
      el("td", { "data-label": "State" }, el("span", { class: "badge " + m.state, text: m.state })),
      el("td", { "data-label": "Age", class: "nowrap", text: since(m.arrival) }),
      el("td", { "data-label": "From", class: "addr", text: addr(m.sender) }),
      el("td", { "data-label": "To", class: "addr" }, el("span", { text: first }),
        more ? el("span", { class: "muted", text: more }) : null),
      el("td", { "data-label": "Reply", class: "reply", text: lastReply(m) }));
  }
  let queueBusy = false, lastQueueKey = "";
  async function loadQueue() {
    if (queueBusy) return;
    queueBusy = true;
    try {
      const query = queueQuery();
      const r = await api(query);
      const tb = $("queue").tBodies[0];
      /* the same page as before: the rows stay (a row being clicked is not replaced) */
      const key = query + JSON.stringify(r) + Math.floor(Date.now() / 30000);
      if (key === lastQueueKey) return;
      lastQueueKey = key;
      if (!r.messages.length) {
        tb.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 6,
          text: page ? "No more messages." : "No message matches." })));
      } else {
        tb.replaceChildren(...r.messages.map(queueRow));
      }
      nextCursor = r.next;
      $("q-next").disabled = !nextCursor;
      $("q-prev").disabled = page === 0;
      $("q-page").textContent = "page " + (page + 1);
    } catch (e) {
      if (e.status === 400) toast(e.message);
    } finally {
      queueBusy = false;
    }
  }
  $("q-next").addEventListener("click", () => {
    if (!nextCursor) return;
    pages[page + 1] = nextCursor;
    page++;
    loadQueue();
  });
  $("q-prev").addEventListener("click", () => {
    if (page === 0) return;
    page--;
    loadQueue();
  });
  $("queue-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    pages.length = 1;
    page = 0;
    loadQueue();
  });
  $("f-state").addEventListener("change", () => $("queue-filter").requestSubmit());

  async function loadDeferred() {
    try {
      const r = await api("/v1/queue?state=deferred&limit=5");
      fill($("deferred"), r.messages.map((m) => {
        const waiting = m.recipients.filter((x) => x.state === "deferred" || x.state === "pending");
        const first = waiting[0] || m.recipients[0] || { email: "", last_reply: "" };
        return el("li", {},
          el("div", { class: "line1" },
            el("span", { class: "who", text: first.email + (waiting.length > 1 ? " +" + (waiting.length - 1) : "") }),
            el("span", { class: "when", text: since(m.arrival) })),
          el("div", {}, msgLink(m.id), el("span", { class: "muted small",
            text: " · next " + until(m.next_attempt) + " · " + (first.attempts || 0) + (first.attempts === 1 ? " attempt" : " attempts") })),
          el("div", { class: "why", text: first.last_reply || "" }));
      }), "Nothing deferred.");
    } catch (e) { /* the next round tries again */ }
  }

  /* ---- a message ---- */
  let openId = null;
  function kv(dl, pairs) {
    dl.replaceChildren(...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  }
  async function openMessage(id) {
    openId = id;
    const dlg = $("msg");
    $("msg-id").textContent = id;
    $("msg-state").textContent = "…";
    $("msg-state").className = "badge";
    $("msg-note").textContent = "";
    $("msg-note").className = "note";
    disarm();
    if (!dlg.open) dlg.showModal();
    await refreshMessage();
  }
  async function refreshMessage() {
    const id = openId;
    const [q, h] = await Promise.allSettled([api("/v1/queue/" + encodeURIComponent(id)),
      api("/v1/dashboard/messages/" + encodeURIComponent(id))]);
    if (id !== openId) return;
    const m = q.status === "fulfilled" ? q.value.message : null;
    const buttons = $("msg-actions").querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = !m; });
    if (m) {
      $("msg-state").textContent = m.state;
      $("msg-state").className = "badge " + m.state;
      $("msg-actions").querySelector('[data-op="hold"]').disabled = m.state === "held";
      $("msg-actions").querySelector('[data-op="release"]').disabled = m.state !== "held";
      kv($("msg-env"), [
        ["Arrival", clock(m.arrival) + " (" + since(m.arrival) + " ago)"],
        ["Size", num(m.size) + " bytes"],
        ["Sender", addr(m.sender)],
        ["Entrance", m.origin],
        ["Client", m.client_ip ? (m.client_name ? m.client_name + " " : "") + "[" + m.client_ip + "]" : null],
        ["HELO", m.helo],
        ["Protocol", m.proto],
        ["TLS", m.tls_version ? m.tls_version + " " + (m.tls_cipher || "") : "none"],
        ["Authenticated", m.auth_user],
        ["Local user", m.local_user],
        ["Next attempt", m.next_attempt ? clock(m.next_attempt) + " (" + until(m.next_attempt) + ")" : null],
        ["Release at", m.release_at ? clock(m.release_at) : null],
      ]);
      $("msg-rcpts").tBodies[0].replaceChildren(...m.recipients.map((r) => el("tr", {},
        el("td", { class: "addr", text: r.email + (r.orig && r.orig !== r.email ? " (" + r.orig + ")" : "") }),
        el("td", {}, el("span", { class: "badge " + r.state, text: r.state })),
        el("td", { class: "num", text: r.attempts }),
        el("td", { class: "reply", text: [r.status, r.last_reply].filter(Boolean).join(" ") || "–" }),
        el("td", { text: r.next_attempt ? until(r.next_attempt) : "–" }))));
    } else {
      $("msg-state").textContent = "not in the queue";
      $("msg-state").className = "badge";
      kv($("msg-env"), [["Queue", "delivered, bounced or removed: only its history is left"]]);
      $("msg-rcpts").tBodies[0].replaceChildren();
    }
    const evs = h.status === "fulfilled" ? h.value.events : [];
    fill($("msg-history"), evs.map((e) => el("li", { class: e.type },
      el("span", { class: "t", text: clock(e.time) }),
      el("strong", { text: e.type }), " " + e.recipient,
      e.bounce ? el("span", { class: "badge " + e.bounce.class, text: e.bounce.category }) : null,
      el("div", { class: "why", text: e.type === "received" ? "from " + e.entrance + (e.tls ? " over TLS" : "") :
        [e.relay, e.code, e.dsn, e.reply].filter(Boolean).join(" ") + (e.next_attempt ? " · next " + until(e.next_attempt) : "") }))),
    "No event of it in memory (the dashboard keeps the last " + num(h.status === "fulfilled" ? h.value.kept : 1000) +
      "; GET /v1/events has them all).");
  }
  let armTimer = null;
  function disarm() {
    const d = $("msg-actions").querySelector('[data-op="delete"]');
    d.classList.remove("armed");
    d.textContent = "Delete";
    clearTimeout(armTimer);
  }
  $("msg-actions").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-op]");
    if (!b || b.disabled || !openId) return;
    const op = b.dataset.op;
    if (op === "delete" && !b.classList.contains("armed")) {
      b.classList.add("armed");
      b.textContent = "Delete for good?";
      armTimer = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    const note = $("msg-note");
    note.className = "note";
    note.textContent = op + "…";
    try {
      const r = await api("/v1/queue/" + encodeURIComponent(openId) + "/" + op, { method: "POST" });
      note.className = "note ok";
      note.textContent = op === "delete" ? "Deleted." : "Done: " + op + " (" + r.done + " of " + r.matched + ").";
      toast(openId + ": " + op + " done");
    } catch (e) {
      note.className = "note err";
      note.textContent = op + " failed: " + e.message;
    }
    refreshMessage();
    loadQueue();
  });
  $("msg-close").addEventListener("click", () => $("msg").close());
  $("msg").addEventListener("click", (ev) => { if (ev.target === $("msg")) $("msg").close(); });
  $("msg").addEventListener("close", () => { openId = null; });

  /* any id on the page opens its message */
  document.addEventListener("click", (ev) => {
    const t = ev.target.closest("[data-open]");
    if (t && !ev.target.closest("dialog")) openMessage(t.dataset.open);
  });
  document.addEventListener("keydown", (ev) => {
    const t = ev.target.closest && ev.target.closest("tr[data-open]");
    if (t && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); openMessage(t.dataset.open); }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("/dashboard/logout", { method: "POST" }); } catch (e) { /* gone already */ }
    location.assign("/dashboard/login");
  });

  /* ---- the rounds: slower while the tab is hidden ---- */
  function every(fn, ms) {
    const round = async () => {
      await fn();
      setTimeout(round, document.hidden ? Math.max(ms, HIDDEN_MS) : ms);
    };
    round();
  }
  every(async () => {
    try {
      render(await api("/v1/dashboard"));
      setLive("live");
    } catch (e) {
      setLive("error", e.message);
    }
  }, FIGURES_MS);
  every(loadQueue, QUEUE_MS);
  every(loadDeferred, DEFERRED_MS);
})();
