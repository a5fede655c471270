// Agency page: sign in, the alert queue, side-by-side review with the face box, and cases with their photos.
"use strict";

const $ = (id) => document.getElementById(id);
let currentAlert = null;

// Locally the agency id stands in for a sign-in; in AWS the user pastes the Cognito ID token.
if (CONFIG.auth !== "dev") {
  $("token-label").textContent = "Cognito ID token";
  $("token").type = "password";
  $("token-hint").textContent = "Paste the ID token from your agency's sign-in.";
} else {
  $("token-hint").textContent = "Local development: the agency id is sent as a Dev token.";
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  enter();
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $("workspace").hidden = true;
  $("signin-section").hidden = false;
});
$("refresh").addEventListener("click", loadQueue);
$("queue-filter").addEventListener("change", loadQueue);

function enter() {
  $("signin-section").hidden = true;
  $("workspace").hidden = false;
  loadQueue();
}

async function loadQueue() {
  const status = $("queue-filter").value;
  const body = $("alerts").querySelector("tbody");
  try {
    const alerts = await api("GET", "/alerts" + (status ? "?status=" + status : ""));
    body.replaceChildren(...alerts.map(alertRow));
    showStatus($("queue-status"), alerts.length ? `${alerts.length} alert(s)` : "No alerts.");
  } catch (error) {
    showStatus($("queue-status"), error.message, true);
  }
}

function alertRow(alert) {
  const open = el("button", { type: "button", text: "Review", "aria-label": "Review alert " + alert.id,
                              onclick: () => openAlert(alert.id) });
  const caseLink = el("button", { type: "button", class: "secondary", text: "Case",
                                  "aria-label": "Open case " + alert.case_id, onclick: () => openCase(alert.case_id) });
  return el("tr", { "data-alert-id": alert.id },
    el("td", { text: formatTime(alert.created_at) }),
    el("td", { text: alert.case_id.slice(0, 8) }),
    el("td", { text: alert.score.toFixed(3) }),
    el("td", { text: alert.status }),
    el("td", {}, open, caseLink));
}

// Opening an alert is audited by the API: it is when a person is shown both photos.
async function openAlert(alertId) {
  showStatus($("review-status"), "");
  try {
    const detail = await api("GET", "/alerts/" + alertId);
    currentAlert = detail.alert;
    $("review").hidden = false;
    showPhoto($("sighting-img"), detail.sighting_photo_url, detail.face_box);
    showPhoto($("reference-img"), detail.reference_photo_url, null);
    const coords = detail.lat != null && detail.lon != null ? `${detail.lat}, ${detail.lon}` : "not given";
    facts($("alert-facts"), {
      Person: detail.case.person_name, Score: `${detail.alert.score.toFixed(3)} (${detail.alert.model_name})`,
      Place: detail.place || "not given", Coordinates: coords, "Seen at": formatTime(detail.seen_at),
      Status: detail.alert.status, "Photo links expire in": `${detail.urls_expire_in} s`,
    });
    $("review").scrollIntoView();
    $("note").focus();
  } catch (error) {
    showStatus($("review-status"), error.message, true);
  }
}

function showPhoto(img, url, box) {
  const frame = $("facebox");
  if (box) frame.hidden = true;
  img.onload = () => {
    if (!box) return;
    // The box is in the photo's pixels (x1, y1, x2, y2); place it in percent of the displayed image.
    const [x1, y1, x2, y2] = box;
    const w = img.naturalWidth, h = img.naturalHeight;
    Object.assign(frame.style, { left: `${(100 * x1) / w}%`, top: `${(100 * y1) / h}%`,
                                 width: `${(100 * (x2 - x1)) / w}%`, height: `${(100 * (y2 - y1)) / h}%` });
    frame.hidden = false;
  };
  img.src = url || "";
}

function facts(list, pairs) {
  list.replaceChildren(...Object.entries(pairs).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

$("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const decision = event.submitter && event.submitter.dataset.decision;
  if (!currentAlert || !decision) return;
  try {
    const note = $("note").value.trim() || null;
    const alert = await api("POST", `/alerts/${currentAlert.id}/review`, { decision, note });
    showStatus($("review-status"), `Alert ${alert.status}.`);
    loadQueue();
  } catch (error) {
    showStatus($("review-status"), error.message, true);
  }
});

$("case-form").addEventListener("submit", (event) => {
  event.preventDefault();
  openCase($("case-id").value.trim());
});

async function openCase(caseId) {
  $("case-id").value = caseId;
  try {
    const [kase, photos] = await Promise.all([api("GET", "/cases/" + caseId), api("GET", `/cases/${caseId}/photos`)]);
    facts($("case-facts"), {
      Person: kase.person_name, Status: kase.status || "open", Age: kase.age ?? "unknown",
      "Last seen": `${kase.last_seen_place || "unknown place"}, ${formatTime(kase.last_seen_at)}`, Notes: kase.notes || "",
    });
    $("case-photos").querySelector("tbody").replaceChildren(...photos.map((p) => el("tr", {},
      el("td", { text: p.id.slice(0, 8) }), el("td", { text: p.status + (p.reason ? ` (${p.reason})` : "") }),
      el("td", { text: p.face_count ?? "-" }), el("td", { text: p.verdict }))));
    $("case-photos").hidden = false;
    showStatus($("case-status"), "");
    $("case").scrollIntoView();
  } catch (error) {
    showStatus($("case-status"), error.message, true);
  }
}

if (sessionStorage.getItem(TOKEN_KEY)) enter();
