// Cases: the agency's own and shared cases, a page at a time, and the form that opens a new one.
"use strict";

let nextCursor = null;

startAgencyPage(() => {
  $("status-filter").addEventListener("change", () => loadCases(false));
  $("more").addEventListener("click", () => loadCases(true));
  $("case-form").addEventListener("submit", createCase);
  loadCases(false);
});

async function loadCases(more) {
  const body = $("cases").querySelector("tbody");
  const params = new URLSearchParams({ limit: "25" });
  if ($("status-filter").value) params.set("status", $("status-filter").value);
  if (more && nextCursor) params.set("cursor", nextCursor);
  showStatus($("list-status"), "Loading...");
  try {
    const page = await api("GET", "/cases?" + params);
    if (!more) body.replaceChildren();
    body.append(...page.cases.map(caseRow));
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
    $("cases").hidden = body.children.length === 0;
    showStatus($("list-status"), body.children.length ? `${body.children.length} case(s) shown.` : "No cases yet.");
    if (!body.children.length && !more) $("new-case").open = true;
  } catch (error) {
    body.replaceChildren();
    $("cases").hidden = true;
    $("more").hidden = true;
    showError($("list-status"), error);
  }
}

function caseRow(kase) {
  const link = el("a", { href: "case.html?id=" + encodeURIComponent(kase.id), text: kase.person_name });
  const seen = [kase.last_seen_place, kase.last_seen_at ? formatTime(kase.last_seen_at) : null].filter(Boolean);
  return row({ "data-case-id": kase.id }, {
    Person: link, Opened: formatTime(kase.created_at), "Last seen": seen.join(", ") || "unknown",
    Status: kase.status, "Open alerts": String(kase.open_alerts || 0), Agency: kase.owned ? "yours" : "shared with you",
  });
}

async function createCase(event) {
  event.preventDefault();
  const body = { person_name: $("person-name").value.trim() };
  const age = $("age").value.trim();
  if (age) body.age = Number(age);
  for (const [field, id] of [["sex", "sex"], ["last_seen_place", "last-seen-place"], ["notes", "notes"]]) {
    const value = $(id).value.trim();
    if (value) body[field] = value;
  }
  // The input is local time without a zone; the API wants an instant.
  if ($("last-seen-at").value) body.last_seen_at = new Date($("last-seen-at").value).toISOString();
  const submit = $("case-form").querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const created = await api("POST", "/cases", body);
    showStatus($("create-status"), `Case opened for ${created.person_name}.`);
    location.assign("case.html?id=" + encodeURIComponent(created.id));
  } catch (error) {
    showError($("create-status"), error);
  } finally {
    submit.disabled = false;
  }
}
