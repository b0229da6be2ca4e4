// Tickets in the console: the list with its filters and search, and one ticket's page (story, history, time
// limits, status changes, internal or patient-visible notes). Uses el, api, clock, label, ticketCard, PAGES of
// console.js and showDeadlines of followups.js; every text from the API goes in with textContent.
"use strict";

// console.js loads after the page's own scripts: its names are used only once the document has loaded.
function ticketFilters() {
  return { kind: TICKET_KIND, category: TICKET_CATEGORY, severity: TICKET_SEVERITY, status: TICKET_STATUS };
}

function fillChoices() {
  for (const [name, labels] of Object.entries(ticketFilters())) {
    const select = document.getElementById(`filter-${name}`);
    for (const [value, text] of Object.entries(labels)) select.append(el("option", { value }, text));
  }
}

// The filters kept in the URL besides the label lists: the assignee (me, none or a username), the tag, the search.
const OTHER_FILTERS = ["assignee", "tag", "q"];

function ticketQuery(form) {
  const query = new URLSearchParams();
  for (const name of [...Object.keys(ticketFilters()), ...OTHER_FILTERS]) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  if (form.elements.overdue.checked) query.set("overdue", "true");
  return query.toString();
}

function ticketRow(ticket, arrived) {
  const link = el("a", { href: `/console/tickets/${encodeURIComponent(ticket.number)}` }, ticket.number);
  const severity = el("span", { class: `badge ${ticket.severity === "major" ? "urgent" : "normal"}` }, label(TICKET_SEVERITY, ticket.severity));
  return el(
    "tr",
    { class: `severity-${ticket.severity}${ticket.overdue ? " overdue" : ""}${arrived.has(ticket.number) ? " alert" : ""}`, "data-number": ticket.number },
    el("td", {}, link, tagBadges(ticket.tags)),
    el("td", {}, label(TICKET_KIND, ticket.kind)),
    el("td", {}, label(TICKET_CATEGORY, ticket.category)),
    el("td", {}, severity),
    el("td", {}, ticket.procedure || "—"),
    el("td", { class: "mono" }, ticket.phone_masked),
    el("td", {}, label(TICKET_STATUS, ticket.status)),
    el("td", { class: "assignee" }, ticket.assigned_to_name || "—"),
    el("td", {}, ticket.overdue ? el("strong", { class: "error" }, "已超时") : "—"),
    el("td", {}, el("time", { datetime: ticket.created_at }, clock(ticket.created_at))),
  );
}

async function ticketsPage() {
  const me = await whoAmI();
  setUpAlerts();
  fillChoices();
  const form = document.getElementById("ticket-filters");
  const params = new URLSearchParams(location.search);
  const assignee = colleagueSelect("assignee", "负责人", [["", "全部负责人"], ["me", "我的"], ["none", "未指派"]], params.get("assignee"));
  assignee.id = "filter-assignee";
  document.getElementById("filter-assignee-box").replaceWith(assignee);
  await Promise.all([assignee.ready, fillTagFilter(form.elements.tag, params.get("tag"))]);
  for (const name of [...Object.keys(ticketFilters()), "q"]) if (params.has(name)) form.elements[name].value = params.get(name);
  // Major-urgent tickets that arrived while the page was open: highlighted until it is reloaded.
  const arrived = new Set();
  form.elements.overdue.checked = params.get("overdue") === "true";
  async function load() {
    const query = ticketQuery(form);
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    const tickets = await api("GET", `/api/tickets${query ? `?${query}` : ""}`);
    document.getElementById("tickets-body").replaceChildren(...tickets.map((ticket) => ticketRow(ticket, arrived)));
    document.getElementById("tickets-list-empty").hidden = tickets.length > 0;
  }
  const refresh = refresher(load);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  form.addEventListener("change", refresh);
  await refresh();
  liveUpdates({
    onOpen: refresh,
    onDown: refresh,
    onEvent(name, data) {
      if (name === "queue") {
        showCounts(data);
        alarm(urgentArrivals(data.changes));
      }
      if (name !== "ticket") return;
      for (const change of majorArrivals(data.changes)) arrived.add(change.number);
      ticketAlarm(data.changes, me);
      refresh();
    },
  });
}

async function ticketPage() {
  await whoAmI();
  setUpAlerts();
  const number = document.body.dataset.ticketNumber;
  const card = ticketCard(number);
  const page = document.getElementById("ticket-page");
  const deadlines = document.getElementById("ticket-deadlines");
  async function showLimits() {
    const ticket = await api("GET", `/api/tickets/${encodeURIComponent(number)}`);
    page.classList.toggle("major", ticket.severity === "major");
    document.getElementById("ticket-conversation").textContent = ticket.conversation_id;
    await showDeadlines(deadlines, ticket.conversation_id);
    for (const item of [...deadlines.children]) if (item.dataset.number !== number) item.remove();
    deadlines.hidden = deadlines.children.length === 0;
  }
  // After each change the card reloads itself; the time limit of the new step comes with it.
  const showCard = card.refresh;
  card.refresh = async () => {
    await showCard();
    await showLimits();
  };
  document.getElementById("ticket-card").replaceChildren(card);
  await card.refresh();
}

// Runs before console.js's own DOMContentLoaded handler, which starts the page named in <body data-page>.
document.addEventListener("DOMContentLoaded", () => {
  PAGES.tickets = ticketsPage;
  PAGES.ticket = ticketPage;
});
