// The back-office page: sign in with Cognito (USER_PASSWORD_AUTH), then the /backoffice API with the ID token.
// No framework, no CDN: config.json (written by the deployment, or the sandbox) says where the API and Cognito are.
"use strict";

const state = { config: null, token: null, me: null, orderId: null, polling: null };
const $ = (id) => document.getElementById(id);

function say(text) { $("status").textContent = text; }
function warn(text) { $("alert").textContent = text; }

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "no deadline";
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  return m ? `${m} min` : `${s} s`;
}

function money(cents, currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);
  } catch (_) {
    return `${(cents / 100).toFixed(2)} ${currency || ""}`;
  }
}

function when(iso) { return iso ? new Date(iso).toLocaleString("en-GB", { timeZone: "UTC" }) + " UTC" : ""; }

async function signIn(username, password) {
  const response = await fetch(state.config.cognitoUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: state.config.userPoolClientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || body.Message || "Sign-in failed.");
  if (!body.AuthenticationResult) throw new Error(`Sign-in needs a step this page does not offer (${body.ChallengeName}).`);
  return body.AuthenticationResult.IdToken;
}

async function api(method, path, body) {
  const response = await fetch(state.config.apiUrl.replace(/\/$/, "") + path, {
    method,
    headers: { Authorization: state.token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) signOut("Your session ended: sign in again.");
  if (!response.ok) {
    const error = new Error(data.message || data.Message || `${method} ${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function may(permission) { return state.me && state.me.may.includes(permission); }

async function start() {
  warn("");
  state.me = await api("GET", "/backoffice/me");
  $("user").textContent = state.me.user;
  $("groups").textContent = state.me.groups.join(", ") || "no group";
  $("session").hidden = false;
  $("sign-in").hidden = true;
  $("reviews").hidden = false;
  $("operations").hidden = !may("operate");
  await loadReviews();
  if (may("operate")) await Promise.all([loadOrders(), loadFailures()]);
  $("main").focus();
}

function signOut(message) {
  clearInterval(state.polling);
  Object.assign(state, { token: null, me: null, orderId: null, polling: null });
  for (const id of ["session", "reviews", "order", "operations"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  $("password").value = "";
  say(message || "Signed out.");
  $("username").focus();
}

async function loadReviews() {
  const { reviews } = await api("GET", "/backoffice/reviews");
  const rows = reviews.map((r) =>
    el("tr", { className: "review" },
      el("td", {}, el("button", { type: "button", className: "link", textContent: r.orderId,
        onclick: () => openOrder(r.orderId), ariaLabel: `Open order ${r.orderId}` })),
      el("td", { textContent: money(r.amountCents, r.currency) }),
      el("td", { textContent: r.customerId || "" }),
      el("td", { textContent: duration(r.waitedSeconds) }),
      el("td", { textContent: duration(r.leftSeconds) })));
  $("review-rows").replaceChildren(...rows);
  $("no-reviews").hidden = reviews.length > 0;
  say(`${reviews.length} review${reviews.length === 1 ? "" : "s"} waiting.`);
}

function fact(term, value) { return [el("dt", { textContent: term }), el("dd", { textContent: value ?? "" })]; }

function timelineEntry(e) {
  const what = e.source === "subscriber" ? `${e.subscriber}: ${e.event} ${e.outcome}`
    : e.source === "bus" ? `${e.event} ${e.outcome}`
    : e.state ? `${e.state} ${e.outcome}` : `execution ${e.outcome}`;
  return el("li", { className: `entry ${e.source}` },
    el("span", { className: "when", textContent: when(e.at) }),
    el("span", { className: "source", textContent: e.source }),
    `${what}${e.error ? ` (${e.error})` : ""}`);
}

async function openOrder(orderId, quiet) {
  state.orderId = orderId;
  const order = await api("GET", `/backoffice/orders/${encodeURIComponent(orderId)}`);
  const payment = order.payment || {};
  $("order-title").textContent = `Order ${order.orderId}`;
  $("order-facts").replaceChildren(
    ...fact("Status", order.status),
    ...fact("Customer", order.customerId),
    ...fact("Amount", payment.amountCents !== undefined ? money(payment.amountCents, payment.currency) : ""),
    ...fact("Payment", payment.status),
    ...(payment.reviewer ? fact("Reviewed by", `${payment.reviewer} at ${when(payment.decidedAt)}`) : []),
    ...(payment.reviewNote ? fact("Note", payment.reviewNote) : []),
    ...(order.error ? fact("Error", `${order.error}: ${order.cause || ""}`) : []));
  const entries = order.timeline || order.states.map((s) => ({ at: s.enteredAt, source: "workflow", ...s }));
  $("timeline").replaceChildren(...entries.map(timelineEntry));
  $("decision-form").hidden = !(may("decide") && payment.status === "REVIEW_PENDING");
  $("order").hidden = false;
  if (!quiet) {
    say(`Order ${order.orderId}: ${order.status}.`);
    $("order-title").focus();
  }
  return order;
}

// After a decision: follow the order until its execution has ended and its timeline has stopped growing
// (the subscribers record what they did after the execution ends: received, then applied or failed).
function follow(orderId) {
  clearInterval(state.polling);
  let rounds = 0, quiet = 0, seen = -1;
  state.polling = setInterval(async () => {
    rounds += 1;
    try {
      const order = await openOrder(orderId, true);
      const entries = (order.timeline || []).length;
      quiet = order.status !== "RUNNING" && entries === seen ? quiet + 1 : 0;
      seen = entries;
      if (quiet >= 3 || rounds > 60) {
        clearInterval(state.polling);
        say(`Order ${orderId}: ${order.status}.`);
      }
    } catch (error) {
      clearInterval(state.polling);
      warn(error.message);
    }
  }, 1000);
}

async function decide(decision) {
  const orderId = state.orderId;
  const note = $("note").value.trim();
  warn("");
  try {
    const result = await api("POST", `/backoffice/reviews/${encodeURIComponent(orderId)}/decision`,
      note ? { decision, note } : { decision });
    $("note").value = "";
    say(result.message);
    await loadReviews();
    await openOrder(orderId, true);
    say(result.message);
    follow(orderId);
  } catch (error) {
    warn(error.message);
  }
}

async function loadOrders() {
  const status = $("order-status").value;
  const { orders } = await api("GET", `/backoffice/orders?status=${encodeURIComponent(status)}`);
  $("order-rows").replaceChildren(...orders.map((o) =>
    el("tr", {},
      el("td", {}, el("button", { type: "button", className: "link", textContent: o.orderId,
        onclick: () => openOrder(o.orderId), ariaLabel: `Open order ${o.orderId}` })),
      el("td", { textContent: o.status }),
      el("td", { textContent: when(o.startedAt) }),
      el("td", { textContent: when(o.stoppedAt) }))));
}

async function loadFailures() {
  const { failures } = await api("GET", `/backoffice/failures?days=${encodeURIComponent($("failure-days").value)}`);
  $("failure-rows").replaceChildren(...failures.map((f) =>
    el("tr", {}, el("td", { textContent: f.error }), el("td", { textContent: String(f.orders) }))));
}

function guard(action) {
  return async (event) => {
    if (event) event.preventDefault();
    warn("");
    try {
      await action(event);
    } catch (error) {
      warn(error.message);
    }
  };
}

document.addEventListener("DOMContentLoaded", async () => {
  try {
    state.config = await (await fetch("config.json", { cache: "no-store" })).json();
  } catch (_) {
    warn("The page's config.json could not be read.");
    return;
  }
  $("sign-in-form").addEventListener("submit", guard(async () => {
    say("Signing in…");
    state.token = await signIn($("username").value.trim(), $("password").value);
    $("password").value = "";
    await start();
  }));
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh-reviews").addEventListener("click", guard(loadReviews));
  $("decision-form").addEventListener("submit", guard((event) => {
    const button = event.submitter || document.activeElement;
    return decide(button && button.value === "reject" ? "reject" : "approve");
  }));
  $("orders-form").addEventListener("submit", guard(loadOrders));
  $("failures-form").addEventListener("submit", guard(loadFailures));
  $("username").focus();
});
