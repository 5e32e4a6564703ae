// Tidemark dashboard: one page, hash routes, data from /ui/api (same origin, the session cookie
// authenticates), live values from /ui/stream. No library: the chart is our own SVG.
"use strict";

(function () {
  if (document.body.classList.contains("login")) {
    if (location.search.indexOf("failed=1") >= 0) document.getElementById("failed").hidden = false;
    return;
  }

  const view = document.getElementById("view");
  const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const state = {
    accounts: new Map(),
    sort: { key: "accountId", ascending: true },
    filter: "",
    alerts: [],
    unseenAlerts: 0,
    route: null,
    page: null, // the account page's data, while it is shown
    ranks: new Map(), // competition id → Map(account → rank), to show changes
  };

  // ---------- helpers

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      // Through the CSSOM: the content security policy forbids style attributes in markup.
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }
  const svgNS = "http://www.w3.org/2000/svg";
  function svg(tag, attributes, text) {
    const node = document.createElementNS(svgNS, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  function fmtMoney(value) {
    const n = num(value);
    return n === null ? "—" : money.format(n);
  }
  function fmtPercent(value) {
    const n = num(value);
    return n === null ? "—" : percent.format(n) + " %";
  }
  // Broker times are the broker's wall clock, never converted: milliseconds in the tables' columns,
  // "YYYY-MM-DD HH:mm:ss.SSS" inside the stored resources (the REST API's form).
  function brokerMs(value) {
    if (value === null || value === undefined) return null;
    if (typeof value === "number") return value;
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(String(value));
    if (!m) return num(value);
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] || "0").padEnd(3, "0"));
  }
  function fmtBrokerTime(value) {
    const ms = brokerMs(value);
    if (ms === null) return "—";
    const d = new Date(ms);
    const pad = (n, w) => String(n).padStart(w || 2, "0");
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  function parse(text) {
    try { return typeof text === "string" ? JSON.parse(text) : text; } catch (e) { return null; }
  }
  async function api(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { location.href = "/login"; throw new Error("signed out"); }
    if (!response.ok) { const error = new Error(path + ": " + response.status); error.status = response.status; throw error; }
    return response.json();
  }

  // ---------- figures derived from an account row

  function todaysDrawdown(row) {
    const start = num(row.dayStartBalance), equity = num(row.equity);
    if (start === null || equity === null) return null;
    return Math.max(0, start - equity);
  }
  function amountOf(limit, base) {
    if (!limit) return null;
    if (limit.amount !== undefined) return num(limit.amount);
    if (limit.percent !== undefined && base !== null) return base * num(limit.percent) / 100;
    return null;
  }
  // The floors of a challenge's current phase (RULES.md: daily loss from the day's base, max loss
  // from the initial capital); trailing max loss is drawn at its static start.
  function floors(challenge, row) {
    const definition = parse(challenge.declaration) || challenge.body || {};
    const last = parse(challenge.lastEventBody) || {};
    const phases = definition.phases || [];
    const phase = phases[Math.max(0, Math.min(phases.length - 1, (last.phase || 1) - 1))] || {};
    const rules = phase.rules || {};
    const capital = num(definition.initialCapital);
    const result = [];
    if (rules.maxLoss) {
      const limit = amountOf(rules.maxLoss.limit, capital);
      if (limit !== null && capital !== null) result.push({ rule: "maxLoss", label: "max loss", floor: capital - limit, limit });
    }
    if (rules.dailyLoss) {
      const base = num(row && row.dayStartBalance);
      const limit = amountOf(rules.dailyLoss.limit, rules.dailyLoss.percentOf === "initialCapital" ? capital : base);
      if (limit !== null && base !== null) result.push({ rule: "dailyLoss", label: "daily loss", floor: base - limit, limit });
    }
    if (rules.minEquity) {
      const floor = amountOf(rules.minEquity, capital);
      if (floor !== null) result.push({ rule: "minEquity", label: "min equity", floor, limit: floor });
    }
    return result;
  }
  function challengeStatus(challenge) {
    switch (challenge.lastEventType) {
      case "challengeFailed": return { text: "failed", tone: "bad" };
      case "challengePassed": return { text: "passed", tone: "good" };
      case "phasePassed": return { text: "phase passed", tone: "good" };
      case "ruleWarning": return { text: "warning", tone: "warn" };
      default: return { text: "active", tone: "" };
    }
  }
  // The rule closest to breaking: the smallest headroom (equity above its floor).
  function closestRule(row) {
    const equity = num(row.equity);
    let best = null;
    for (const challenge of row.challenges || []) {
      for (const floor of floors(challenge, row)) {
        if (equity === null) continue;
        const headroom = equity - floor.floor;
        if (!best || headroom < best.headroom) best = Object.assign({ headroom, challenge }, floor);
      }
    }
    return best;
  }

  // ---------- live stream

  function connectStream() {
    const live = document.getElementById("live");
    const source = new EventSource("/ui/stream");
    source.onopen = () => live.classList.add("on");
    source.onerror = () => live.classList.remove("on");
    source.addEventListener("accounts", (message) => {
      for (const row of JSON.parse(message.data)) {
        const before = state.accounts.get(row.accountId);
        state.accounts.set(row.accountId, row);
        onAccountChanged(row, before);
      }
    });
    source.addEventListener("events", (message) => {
      const events = JSON.parse(message.data);
      for (const event of events) onEvent(event);
    });
    source.addEventListener("reload", () => render());
  }

  function onAccountChanged(row, before) {
    if (state.route.name === "overview") updateOverviewRow(row, before);
    if (state.route.name === "challenges") refreshChallengesSoon();
    if (state.route.name === "account" && state.route.id === row.accountId && state.page) {
      state.page.account = row;
      const t = brokerMs(row.brokerTime), equity = num(row.equity);
      if (t !== null && equity !== null) state.page.trail.push({ t, equity, balance: num(row.balance) });
      if (state.page.trail.length > 2000) state.page.trail.splice(0, state.page.trail.length - 2000);
      updateAccountFigures();
      drawChart();
      refreshDetailSoon();
    }
  }

  function onEvent(event) {
    const breach = isBreach(event);
    if (breach) {
      state.alerts.unshift(event);
      if (state.route.name !== "alerts") { state.unseenAlerts += 1; showAlertCount(); }
      const row = state.accounts.get(event.accountId);
      if (row) { row.breached = true; if (state.route.name === "overview") updateOverviewRow(row, row); }
    }
    if (state.route.name === "alerts" && breach) renderAlertList();
    if (state.route.name === "account" && state.page && event.accountId === state.route.id) {
      state.page.events.unshift(event);
      renderEventList();
      drawChart();
    }
    if (state.route.name === "challenges" && (event.kind === "competition" || event.kind === "challenge")) refreshChallengesSoon();
  }
  function isBreach(event) {
    return (event.kind === "challenge" && event.type === "challengeFailed") || (event.kind === "tracker" && event.type === "drawdown");
  }
  function showAlertCount() {
    const pill = document.getElementById("alert-count");
    pill.hidden = state.unseenAlerts === 0;
    pill.textContent = String(state.unseenAlerts);
  }

  // ---------- overview

  const overviewColumns = [
    { key: "agent", label: "Agent", value: (r) => r.agent, narrow: false },
    { key: "accountId", label: "Server:login", value: (r) => r.accountId },
    { key: "connected", label: "Connected", value: (r) => (r.connected ? 1 : 0), narrow: false },
    { key: "balance", label: "Balance", value: (r) => num(r.balance), numeric: true, narrow: false },
    { key: "equity", label: "Equity", value: (r) => num(r.equity), numeric: true },
    { key: "drawdown", label: "Today's drawdown", value: (r) => todaysDrawdown(r), numeric: true, narrow: false },
    { key: "challenge", label: "Challenge", value: (r) => ((r.challenges || [])[0] || {}).lastEventType || "", narrow: false },
    { key: "headroom", label: "Closest rule headroom", value: (r) => { const c = closestRule(r); return c ? c.headroom : null; }, numeric: true },
  ];

  function sortedAccounts() {
    const filter = state.filter.trim().toLowerCase();
    const column = overviewColumns.find((c) => c.key === state.sort.key) || overviewColumns[1];
    const rows = [...state.accounts.values()].filter((r) =>
      !filter || (r.accountId + " " + r.agent + " " + (r.challenges || []).map((c) => c.id).join(" ")).toLowerCase().includes(filter));
    rows.sort((a, b) => {
      const x = column.value(a), y = column.value(b);
      const order = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
      return state.sort.ascending ? order : -order;
    });
    return rows;
  }

  async function renderOverview() {
    const rows = await api("/ui/api/accounts");
    state.accounts = new Map(rows.map((r) => [r.accountId, r]));
    view.replaceChildren(
      el("h1", { text: "Accounts" }),
      el("div", { class: "toolbar" }, [
        el("input", { id: "filter", type: "search", placeholder: "Filter by account, agent or challenge", value: state.filter }),
        el("span", { class: "muted", id: "account-count" }),
      ]),
      el("div", { class: "panel scroll" }, el("table", { id: "accounts" }, [el("thead"), el("tbody")])));
    document.getElementById("filter").addEventListener("input", (e) => { state.filter = e.target.value; renderOverviewTable(); });
    renderOverviewTable();
  }

  function renderOverviewTable() {
    const table = document.getElementById("accounts");
    if (!table) return;
    const head = el("tr", {}, overviewColumns.map((c) => {
      const th = el("th", {
        class: ["sortable", c.numeric ? "num" : "", c.narrow === false ? "hide-narrow" : "",
          state.sort.key === c.key ? "sorted" + (state.sort.ascending ? " asc" : "") : ""].join(" ").trim(),
        "data-key": c.key, text: c.label,
      });
      th.addEventListener("click", () => {
        state.sort = { key: c.key, ascending: state.sort.key === c.key ? !state.sort.ascending : true };
        renderOverviewTable();
      });
      return th;
    }));
    table.tHead.replaceChildren(head);
    const rows = sortedAccounts();
    table.tBodies[0].replaceChildren(...rows.map(overviewRow));
    if (rows.length === 0) table.tBodies[0].appendChild(el("tr", {}, el("td", { colspan: overviewColumns.length, class: "empty", text: "No accounts yet." })));
    document.getElementById("account-count").textContent = `${rows.length} of ${state.accounts.size} accounts`;
  }

  function overviewRow(r) {
    const closest = closestRule(r);
    const challenge = (r.challenges || [])[0];
    const status = challenge ? challengeStatus(challenge) : null;
    const failed = (r.challenges || []).some((c) => c.lastEventType === "challengeFailed");
    const drawdown = todaysDrawdown(r);
    return el("tr", { "data-account": r.accountId, class: r.breached || failed ? "breached" : "" }, [
      el("td", { class: "hide-narrow", text: r.agent.replace(/^CN=/, "").replace(/,.*$/, "") }),
      el("td", {}, el("a", { href: "#/account/" + encodeURIComponent(r.accountId), text: r.accountId })),
      el("td", { class: "hide-narrow" }, el("span", { class: "badge " + (r.connected ? "good" : ""), text: r.connected ? "connected" : "offline" })),
      el("td", { class: "num hide-narrow", "data-field": "balance", text: fmtMoney(r.balance) }),
      el("td", { class: "num", "data-field": "equity", text: fmtMoney(r.equity) }),
      el("td", { class: "num hide-narrow" + (drawdown > 0 ? " neg" : ""), text: drawdown === null ? "—" : money.format(drawdown) }),
      el("td", { class: "hide-narrow" }, status ? el("span", { class: "badge " + status.tone, text: status.text }) : el("span", { class: "muted", text: "—" })),
      el("td", { class: "num" + (closest && closest.headroom <= 0 ? " neg" : "") },
        closest ? `${money.format(closest.headroom)} (${closest.label})` : "—"),
    ]);
  }

  function updateOverviewRow(row, before) {
    const table = document.getElementById("accounts");
    if (!table) return;
    const existing = table.querySelector(`tr[data-account="${CSS.escape(row.accountId)}"]`);
    if (!existing) { renderOverviewTable(); return; }
    const fresh = overviewRow(row);
    if (before && before.equity !== row.equity) fresh.querySelector('[data-field="equity"]').classList.add("flash");
    existing.replaceWith(fresh);
  }

  // ---------- account page

  async function renderAccount(id) {
    let data;
    try {
      data = await api("/ui/api/accounts/" + encodeURIComponent(id));
    } catch (error) {
      if (error.status === 404) {
        view.replaceChildren(el("h1", { text: "Account not found" }), el("p", { class: "muted", text: "No account " + id + " that this token may see." }));
        return;
      }
      throw error;
    }
    // trail: the live values received while the page is open, drawn after the last hourly record.
    state.page = { account: data.account, events: data.events, detail: data.detail, trail: [] };
    state.accounts.set(id, data.account);
    view.replaceChildren(
      el("h1", {}, [el("a", { href: "#/", text: "Accounts" }), " / ", el("span", { id: "account-title", text: id })]),
      el("div", { class: "cards", id: "figures" }),
      el("div", { class: "panel" }, [
        svg("svg", { class: "chart", id: "chart", role: "img", "aria-label": "equity and balance chart" }),
        el("div", { class: "legend" }, [
          el("span", {}, [el("i", { class: "equity-key" }), "equity (hourly average, then live)"]),
          el("span", {}, [el("i", { class: "balance-key" }), "balance"]),
          el("span", {}, [el("i", { class: "floor-key" }), "challenge floors"]),
          el("span", { text: "▲ events" }),
        ]),
      ]),
      el("h2", { text: "Challenge progress" }),
      el("div", { class: "panel scroll", id: "progress" }),
      el("h2", { text: "Period statistics" }),
      el("div", { class: "panel scroll", id: "statistics" }),
      el("h2", { text: "Events" }),
      el("div", { class: "panel scroll", id: "events" }));
    updateAccountFigures();
    drawChart();
    renderStatistics();
    renderEventList();
    window.addEventListener("resize", drawChart);
  }

  // Chart hours and statistics close as the account trades: the shown account's records are read
  // again at most every 2 s while its live values move.
  let detailTimer = null;
  function refreshDetailSoon() {
    if (detailTimer) return;
    const id = state.route.id;
    detailTimer = setTimeout(async () => {
      detailTimer = null;
      if (state.route.name !== "account" || state.route.id !== id || !state.page) return;
      try {
        const data = await api("/ui/api/accounts/" + encodeURIComponent(id));
        if (state.route.name !== "account" || state.route.id !== id || !state.page) return;
        state.page.detail = data.detail;
        state.page.events = data.events;
        renderStatistics();
        renderEventList();
        drawChart();
      } catch (error) { /* the next live value tries again */ }
    }, 2000);
  }

  function renderStatistics() {
    const box = document.getElementById("statistics");
    if (!box) return;
    const declarations = state.page.detail.declarations || [];
    const trackers = new Map(declarations.filter((d) => d.kind === "tracker").map((d) => [d.id, d]));
    box.replaceChildren(statisticsTable(state.page.detail.statistics || [], trackers));
  }

  function updateAccountFigures() {
    const r = state.page.account;
    const closest = closestRule(r);
    const drawdown = todaysDrawdown(r);
    const card = (label, value, field, tone) => el("div", { class: "card" }, [
      el("div", { class: "label", text: label }), el("div", { class: "value " + (tone || ""), "data-field": field, text: value })]);
    const figures = document.getElementById("figures");
    if (!figures) return;
    figures.replaceChildren(
      card("Equity", fmtMoney(r.equity), "equity"),
      card("Balance", fmtMoney(r.balance), "balance"),
      card("Today's drawdown", drawdown === null ? "—" : money.format(drawdown), "drawdown", drawdown > 0 ? "neg" : ""),
      card("Closest rule headroom", closest ? money.format(closest.headroom) : "—", "headroom", closest && closest.headroom <= 0 ? "neg" : ""),
      card("Broker time", fmtBrokerTime(r.brokerTime), "time"),
      card("Terminal", r.connected ? "connected" : "offline", "connected", r.connected ? "pos" : "neg"));
    renderProgress();
  }

  function renderProgress() {
    const r = state.page.account;
    const box = document.getElementById("progress");
    const equity = num(r.equity);
    const rows = [];
    for (const challenge of r.challenges || []) {
      const status = challengeStatus(challenge);
      for (const floor of floors(challenge, r)) {
        const headroom = equity === null ? null : equity - floor.floor;
        const share = headroom === null || !floor.limit ? 0 : Math.max(0, Math.min(1, headroom / floor.limit));
        rows.push(el("tr", {}, [
          el("td", { text: challenge.id }),
          el("td", {}, el("span", { class: "badge " + status.tone, text: status.text })),
          el("td", { text: floor.label }),
          el("td", { class: "num", text: fmtMoney(equity) }),
          el("td", { class: "num", text: money.format(floor.floor) }),
          el("td", { class: "num" + (headroom !== null && headroom <= 0 ? " neg" : ""), text: headroom === null ? "—" : money.format(headroom) }),
          el("td", {}, el("div", { class: "bar" + (share <= 0 ? " gone" : share < 0.25 ? " low" : ""), title: Math.round(share * 100) + " % of the limit left" },
            el("span", { style: `width:${(share * 100).toFixed(1)}%` }))),
        ]));
      }
      const last = parse(challenge.lastEventBody);
      if (last && last.breach) {
        rows.push(el("tr", { class: "breached" }, [
          el("td", { text: challenge.id }), el("td", {}, el("span", { class: "badge bad", text: "breached" })),
          el("td", { text: last.breach.rule }), el("td", { class: "num", text: fmtMoney(last.breach.value) }),
          el("td", { class: "num", text: fmtMoney(last.breach.limit) }), el("td", { class: "num", text: fmtBrokerTime(last.breach.brokerTime) }), el("td")]));
      }
    }
    box.replaceChildren(rows.length ? el("table", {}, [
      el("thead", {}, el("tr", {}, ["Challenge", "Status", "Rule", "Value", "Limit (floor)", "Headroom", ""].map((t, i) => el("th", { class: i >= 3 && i <= 5 ? "num" : "", text: t })))),
      el("tbody", {}, rows)]) : el("div", { class: "empty", text: "No challenge on this account." }));
  }

  function statisticsTable(statistics, trackers) {
    if (!statistics.length) return el("div", { class: "empty", text: "No closed period yet." });
    return el("table", {}, [
      el("thead", {}, el("tr", {}, ["Tracker", "Period", "From", "To", "Start balance", "Max drawdown", "Max profit", "Exceeded"]
        .map((t, i) => el("th", { class: i >= 4 && i <= 6 ? "num" : "", text: t })))),
      el("tbody", {}, statistics.map((s) => {
        const r = s.record || {};
        const tracker = trackers.get(s.trackerId);
        return el("tr", { class: r.thresholdExceeded && r.exceededThresholdType === "drawdown" ? "breached" : "" }, [
          el("td", { text: (tracker && tracker.name) || s.trackerId }), el("td", { text: r.period || "" }),
          el("td", { text: fmtBrokerTime(r.startBrokerTime) }), el("td", { text: r.endBrokerTime ? fmtBrokerTime(r.endBrokerTime) : "open" }),
          el("td", { class: "num", text: fmtMoney(r.initialBalance) }),
          el("td", { class: "num", text: `${fmtMoney(r.maxAbsoluteDrawdown)} (${fmtPercent(num(r.maxRelativeDrawdown) * 100)})` }),
          el("td", { class: "num", text: `${fmtMoney(r.maxAbsoluteProfit)} (${fmtPercent(num(r.maxRelativeProfit) * 100)})` }),
          el("td", { text: r.thresholdExceeded ? (r.exceededThresholdType || "yes") : "no" }),
        ]);
      })),
    ]);
  }

  function eventFigures(event) {
    const body = parse(event.body) || {};
    if (event.kind === "tracker") {
      return event.type === "drawdown"
        ? `drawdown ${fmtMoney(body.absoluteDrawdown)} (${fmtPercent(num(body.relativeDrawdown) * 100)}) in ${body.period || "period"}`
        : `profit ${fmtMoney(body.absoluteProfit)} (${fmtPercent(num(body.relativeProfit) * 100)}) in ${body.period || "period"}`;
    }
    if (body.breach) {
      const b = body.breach;
      return `${b.rule}: value ${fmtMoney(b.value)}, limit ${fmtMoney(b.limit)}` + (b.floor !== undefined ? `, floor ${fmtMoney(b.floor)}` : "") +
        (b.equity !== undefined ? `, equity ${fmtMoney(b.equity)}` : "");
    }
    if (event.kind === "competition" && body.rank !== undefined) return `rank ${body.previousRank || "—"} → ${body.rank}`;
    return body.phaseName ? `phase ${body.phase} ${body.phaseName}` : "";
  }

  function renderEventList() {
    const box = document.getElementById("events");
    if (!box) return;
    const events = state.page.events;
    box.replaceChildren(events.length ? el("table", {}, [
      el("thead", {}, el("tr", {}, ["Broker time", "Kind", "Event", "Subject", "Figures"].map((t) => el("th", { text: t })))),
      el("tbody", {}, events.map((e) => el("tr", { class: isBreach(e) ? "breached" : "" }, [
        el("td", { class: "num", text: fmtBrokerTime(e.brokerTime) }), el("td", { text: e.kind }),
        el("td", { text: e.type }), el("td", { text: e.subjectId }), el("td", { text: eventFigures(e) }),
      ]))),
    ]) : el("div", { class: "empty", text: "No events." }));
  }

  // The chart: hourly records (average equity, last balance) plus the live point, events as
  // markers at their broker time, challenge floors as dashed lines.
  function drawChart() {
    const chart = document.getElementById("chart");
    if (!chart || !state.page) return;
    const width = chart.clientWidth || 800, height = chart.clientHeight || 320;
    const pad = { left: 78, right: 16, top: 14, bottom: 26 };
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const records = state.page.detail.chart || [];
    const points = records.map((r) => ({ t: (brokerMs(r.startBrokerTime) + brokerMs(r.endBrokerTime)) / 2, equity: num(r.averageEquity), balance: num(r.lastBalance), min: num(r.minEquity), max: num(r.maxEquity) }));
    const account = state.page.account;
    const lastRecordEnd = records.length ? brokerMs(records[records.length - 1].endBrokerTime) : -Infinity;
    const trail = state.page.trail.filter((p) => p.t > lastRecordEnd);
    const live = account.brokerTime && num(account.equity) !== null ? { t: brokerMs(account.brokerTime), equity: num(account.equity), balance: num(account.balance) } : null;
    if (live && (!trail.length || trail[trail.length - 1].t < live.t)) trail.push(live);
    const floorLines = [];
    for (const challenge of account.challenges || []) for (const f of floors(challenge, account)) floorLines.push(f);
    const all = points.concat(trail);
    chart.replaceChildren();
    if (!all.length) {
      chart.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "axis" }, "No equity recorded yet"));
      return;
    }
    const times = all.map((p) => p.t).concat(records.flatMap((r) => [brokerMs(r.startBrokerTime), brokerMs(r.endBrokerTime)]));
    const values = all.flatMap((p) => [p.equity, p.balance, p.min, p.max]).concat(floorLines.map((f) => f.floor)).filter((v) => v !== null && v !== undefined);
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t1 === t0) { t0 -= 1800000; t1 += 1800000; }
    let v0 = Math.min(...values), v1 = Math.max(...values);
    const margin = (v1 - v0) * 0.08 || Math.max(1, Math.abs(v1) * 0.001);
    v0 -= margin; v1 += margin;
    const x = (t) => pad.left + (t - t0) / (t1 - t0) * (width - pad.left - pad.right);
    const y = (v) => pad.top + (v1 - v) / (v1 - v0) * (height - pad.top - pad.bottom);
    for (let i = 0; i <= 4; i++) {
      const v = v0 + (v1 - v0) * i / 4;
      chart.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }));
      chart.appendChild(svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, money.format(v)));
    }
    // Hour ticks, thinned so that labels never overlap.
    const hour = 3600000, labelEvery = Math.max(1, Math.ceil((t1 - t0) / hour / Math.max(1, Math.floor((width - pad.left) / 90))));
    for (let t = Math.ceil(t0 / hour) * hour, i = 0; t <= t1; t += hour, i++) {
      if (i % labelEvery) continue;
      chart.appendChild(svg("line", { x1: x(t), x2: x(t), y1: pad.top, y2: height - pad.bottom, class: "grid" }));
      chart.appendChild(svg("text", { x: x(t), y: height - 8, "text-anchor": "middle", class: "axis" }, fmtBrokerTime(t).slice(11, 16)));
    }
    const path = (list, key) => list.filter((p) => p[key] !== null).map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p[key]).toFixed(1)).join(" ");
    // Each closed hour: its equity range as a band.
    for (const r of records) {
      const low = num(r.minEquity), high = num(r.maxEquity);
      if (low === null || high === null) continue;
      chart.appendChild(svg("rect", { x: x(brokerMs(r.startBrokerTime)), width: Math.max(1, x(brokerMs(r.endBrokerTime)) - x(brokerMs(r.startBrokerTime))), y: y(high), height: Math.max(1, y(low) - y(high)), class: "band" }));
    }
    if (points.length) {
      chart.appendChild(svg("path", { d: path(points, "balance"), class: "balance" }));
      chart.appendChild(svg("path", { d: path(points, "equity"), class: "equity" }));
    }
    if (trail.length) {
      const joined = (points.length ? [points[points.length - 1]] : []).concat(trail);
      chart.appendChild(svg("path", { d: path(joined, "equity"), class: "live-line" }));
      const last = trail[trail.length - 1];
      chart.appendChild(svg("circle", { cx: x(last.t), cy: y(last.equity), r: 3.5, class: "live-point", id: "live-point" }));
    }
    for (const f of floorLines) {
      chart.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(f.floor), y2: y(f.floor), class: "floor" }));
      chart.appendChild(svg("text", { x: width - pad.right - 4, y: y(f.floor) - 4, "text-anchor": "end", class: "floor-label" }, `${f.label} ${money.format(f.floor)}`));
    }
    for (const event of state.page.events) {
      const t = brokerMs(event.brokerTime);
      if (t === null || t < t0 || t > t1) continue;
      const group = svg("g", {});
      group.appendChild(svg("line", { x1: x(t), x2: x(t), y1: pad.top, y2: height - pad.bottom, class: "event" }));
      group.appendChild(svg("path", { d: `M${x(t) - 5} ${pad.top + 8} L${x(t) + 5} ${pad.top + 8} L${x(t)} ${pad.top} Z`, class: "event-dot" + (isBreach(event) ? " breach" : "") }));
      group.appendChild(svg("title", {}, `${fmtBrokerTime(t)} ${event.kind} ${event.type}: ${eventFigures(event)}`));
      chart.appendChild(group);
    }
  }

  // ---------- challenges and competitions

  async function renderChallenges() {
    const [rows, competitions] = await Promise.all([api("/ui/api/accounts"), api("/ui/api/competitions")]);
    for (const r of rows) state.accounts.set(r.accountId, r);
    const challengeRows = [];
    for (const r of rows) for (const c of r.challenges || []) {
      const status = challengeStatus(c);
      const closest = closestRule(Object.assign({}, r, { challenges: [c] }));
      challengeRows.push(el("tr", { class: status.tone === "bad" ? "breached" : "" }, [
        el("td", { text: c.id }), el("td", {}, el("a", { href: "#/account/" + encodeURIComponent(r.accountId), text: r.accountId })),
        el("td", {}, el("span", { class: "badge " + status.tone, text: status.text })),
        el("td", { class: "num", text: fmtMoney(r.equity) }),
        el("td", { class: "num", text: closest ? `${money.format(closest.headroom)} (${closest.label})` : "—" }),
      ]));
    }
    const boards = await Promise.all(competitions.map((competition) => leaderboard(competition)));
    view.replaceChildren(
      el("h1", { text: "Challenges" }),
      el("div", { class: "panel scroll" }, challengeRows.length ? el("table", {}, [
        el("thead", {}, el("tr", {}, ["Challenge", "Account", "Status", "Equity", "Closest rule headroom"].map((t, i) => el("th", { class: i >= 3 ? "num" : "", text: t })))),
        el("tbody", {}, challengeRows)]) : el("div", { class: "empty", text: "No challenges." })),
      el("h1", { text: "Competitions", style: "margin-top:24px" }),
      ...(boards.length ? boards : [el("div", { class: "panel empty", text: "No competitions." })]));
  }

  // A competition's leaderboard from the agents' REST API on the dashboard (the session cookie
  // reads it), ranks compared with the last one shown and with the rank events' previous ranks.
  async function leaderboard(competition) {
    let entries;
    try {
      entries = await api("/users/current/competitions/" + encodeURIComponent(competition.id) + "/leaderboard");
    } catch (error) {
      entries = [];
    }
    const lastEvent = new Map();
    for (const event of competition.events || []) if (event.account && !lastEvent.has(event.account)) lastEvent.set(event.account, event);
    const previous = state.ranks.get(competition.id) || new Map();
    const current = new Map();
    entries.sort((a, b) => (a.rank || 1e9) - (b.rank || 1e9));
    const rows = entries.map((e) => {
      current.set(e.accountId, e.rank);
      const event = lastEvent.get(e.accountId);
      const before = previous.has(e.accountId) ? previous.get(e.accountId) : event && event.rank === e.rank ? event.previousRank : null;
      const change = before && e.rank ? before - e.rank : 0;
      return el("tr", { class: e.disqualification ? "breached" : "" }, [
        el("td", { class: "num", text: e.rank ? String(e.rank) : "—" }),
        el("td", { class: change > 0 ? "pos" : change < 0 ? "neg" : "muted", text: change > 0 ? "▲ " + change : change < 0 ? "▼ " + -change : "–" }),
        el("td", {}, el("a", { href: "#/account/" + encodeURIComponent(e.accountId), text: e.accountId })),
        el("td", { class: "num", text: e.value === undefined || e.value === null ? "—" : fmtMoney(e.value) }),
        el("td", { class: "num hide-narrow", text: fmtMoney(e.equity) }),
        el("td", { class: "hide-narrow", text: e.disqualification ? "disqualified: " + e.disqualification.rule : "" }),
      ]);
    });
    state.ranks.set(competition.id, current);
    const body = (competition.body && competition.body.metric) || "";
    return el("div", { class: "panel scroll", style: "margin-bottom:14px" }, [
      el("div", { class: "legend" }, [el("strong", { text: competition.name || competition.id }), body ? " ranked by " + body : ""]),
      rows.length ? el("table", { class: "leaderboard", "data-competition": competition.id }, [
        el("thead", {}, el("tr", {}, ["Rank", "Change", "Account", "Value", "Equity", ""].map((t, i) => el("th", { class: (i === 0 || i === 3 || i === 4 ? "num" : "") + (i >= 4 ? " hide-narrow" : ""), text: t })))),
        el("tbody", {}, rows)])
        : el("div", { class: "empty", text: "No ranks yet." })]);
  }

  // The challenges page follows live values, read again at most every 2 s.
  let challengesTimer = null;
  function refreshChallengesSoon() {
    if (challengesTimer) return;
    challengesTimer = setTimeout(() => {
      challengesTimer = null;
      if (state.route.name === "challenges") renderChallenges().catch(() => {});
    }, 2000);
  }

  // ---------- alerts

  async function renderAlerts() {
    state.alerts = await api("/ui/api/alerts");
    state.unseenAlerts = 0;
    showAlertCount();
    view.replaceChildren(el("h1", { text: "Alerts" }), el("p", { class: "muted", text: "Breaches across every agent, newest first: failed challenges and drawdown thresholds." }),
      el("div", { class: "panel" }, el("ul", { class: "alert-list", id: "alerts" })));
    renderAlertList();
  }
  function renderAlertList() {
    const list = document.getElementById("alerts");
    if (!list) return;
    list.replaceChildren(...(state.alerts.length ? state.alerts.map((e) => {
      const body = parse(e.body) || {};
      const rule = e.kind === "tracker" ? `tracker ${e.subjectId}: drawdown threshold` : `challenge ${e.subjectId}: ${(body.breach && body.breach.rule) || e.type}`;
      return el("li", { "data-account": e.accountId || "" }, [
        el("span", { class: "num", text: fmtBrokerTime(e.brokerTime) }),
        el("span", {}, [el("span", { class: "what", text: rule }), " · ", el("a", { href: "#/account/" + encodeURIComponent(e.accountId || ""), text: e.accountId || "" }),
          el("span", { class: "muted", text: " · " + e.agent.replace(/^CN=/, "").replace(/,.*$/, "") })]),
        el("span", { class: "figures", text: eventFigures(e) }),
      ]);
    }) : [el("li", { class: "empty", text: "No breaches." })]));
  }

  // ---------- agents

  // An agent posts at least every 5 s (its feed's heartbeat): three missed heartbeats is quiet.
  const quietAfterMs = 15000;
  let agentsTimer = null;
  async function renderAgents() {
    const agents = await api("/ui/api/agents");
    const now = Date.now();
    // Read again every 5 s while shown, so an agent going quiet turns red without a reload.
    clearTimeout(agentsTimer);
    agentsTimer = setTimeout(() => { if (state.route.name === "agents") renderAgents().catch(() => {}); }, 5000);
    view.replaceChildren(el("h1", { text: "Agents" }), el("div", { class: "panel scroll" }, el("table", {}, [
      el("thead", {}, el("tr", {}, ["Agent", "Version", "Connected since", "Last seen", "Feed lag", "Outbox backlog", "Terminals", "Accounts", "Refused claims"]
        .map((t, i) => el("th", { class: i >= 4 ? "num" : "", text: t })))),
      el("tbody", {}, agents.map((a) => {
        const quiet = now - Date.parse(a.lastSeen) > quietAfterMs;
        return el("tr", { "data-agent": a.subject, class: quiet ? "quiet" : "", title: quiet ? "no feed for more than 15 s" : "" }, [
          el("td", { text: a.subject }), el("td", { text: a.version }),
          el("td", { text: new Date(a.connectedSince).toISOString().replace("T", " ").slice(0, 19) + " UTC" }),
          el("td", { text: new Date(a.lastSeen).toISOString().replace("T", " ").slice(0, 19) + " UTC" }),
          el("td", { class: "num", text: (a.feedLagMilliseconds / 1000).toFixed(1) + " s" }),
          el("td", { class: "num", text: money.format(a.outboxBacklog).replace(/\.00$/, "") }),
          el("td", { class: "num", text: String(a.terminalsConnected) }), el("td", { class: "num", text: String(a.accounts) }),
          el("td", { class: "num" + (a.refusedClaims ? " neg" : ""), text: String(a.refusedClaims) }),
        ]);
      })),
    ])));
  }

  // ---------- routing

  function currentRoute() {
    const hash = location.hash.replace(/^#\/?/, "");
    if (hash.startsWith("account/")) return { name: "account", id: decodeURIComponent(hash.slice("account/".length)) };
    if (hash === "challenges" || hash === "alerts" || hash === "agents") return { name: hash };
    return { name: "overview" };
  }

  async function render() {
    state.route = currentRoute();
    state.page = null;
    // Which page is drawn, once it is (a hook for tests and for styles).
    delete view.dataset.page;
    window.removeEventListener("resize", drawChart);
    for (const link of document.querySelectorAll(".top nav a")) {
      link.classList.toggle("active", link.dataset.view === (state.route.name === "account" ? "overview" : state.route.name));
    }
    try {
      switch (state.route.name) {
        case "account": await renderAccount(state.route.id); break;
        case "challenges": await renderChallenges(); break;
        case "alerts": await renderAlerts(); break;
        case "agents": await renderAgents(); break;
        default: await renderOverview();
      }
      view.dataset.page = state.route.name;
    } catch (error) {
      if (error.message !== "signed out") view.replaceChildren(el("p", { class: "error", text: "Could not load: " + error.message }));
    }
  }

  window.addEventListener("hashchange", render);
  api("/ui/api/session").then((session) => {
    document.getElementById("nav-agents").hidden = session.admin !== "true";
    connectStream();
    render();
  }).catch(() => {});
})();
