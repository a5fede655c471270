// One alert's review: both photos with the face boxed, the facts, and the decision (changed only on purpose).
"use strict";

let current = null; // the alert as last read or decided

startAgencyPage(() => {
  const id = query("id");
  if (!id) {
    showStatus($("load-status"), "No alert given: open one from the alert queue.", true);
    return;
  }
  $("review-form").addEventListener("submit", decide);
  $("override").addEventListener("change", () => renderDecision(current));
  openAlert(id);
});

// Opening is audited by the API: it is when a person is shown both photos.
async function openAlert(alertId) {
  showStatus($("load-status"), "Loading the alert...");
  try {
    const detail = await api("GET", "/alerts/" + encodeURIComponent(alertId));
    showStatus($("load-status"), "");
    render(detail);
  } catch (error) {
    // Nothing of an earlier alert may stay on screen under an error.
    $("review").hidden = true;
    showPhoto($("sighting-img"), null, null, $("facebox"));
    showPhoto($("reference-img"), null, null);
    $("alert-facts").replaceChildren();
    showError($("load-status"), error);
  }
}

function render(detail) {
  current = detail.alert;
  $("review-title").textContent = `Possible sighting of ${detail.case.person_name}`;
  showPhoto($("sighting-img"), detail.face_box, detail.sighting_photo_url, $("facebox"));
  showPhoto($("reference-img"), null, detail.reference_photo_url);
  const coords = detail.lat != null && detail.lon != null ? `${detail.lat}, ${detail.lon}` : "not given";
  const caseLink = el("a", { href: "case.html?id=" + encodeURIComponent(detail.case.id), text: detail.case.person_name });
  const expires = new Date(Date.now() + detail.urls_expire_in * 1000).toLocaleTimeString();
  facts($("alert-facts"), {
    Person: caseLink, Score: `${detail.alert.score.toFixed(3)} (${detail.alert.model_name})`,
    Place: detail.place || "not given", Coordinates: coords, "Seen at": formatTime(detail.seen_at),
    Raised: formatTime(detail.alert.created_at), Status: detail.alert.status,
    "Photos shown until": detail.sighting_photo_url || detail.reference_photo_url ? expires : "erased",
  });
  const others = detail.other_candidates || [];
  $("others").hidden = others.length === 0;
  $("others-list").replaceChildren(...others.map((c) => el("li", {},
    el("a", { href: "case.html?id=" + encodeURIComponent(c.case_id), text: c.person_name }),
    ` (score ${c.score.toFixed(3)})`)));
  $("review").hidden = false;
  $("override").checked = false;
  renderDecision(current);
}

// A new alert can be decided; a decided one shows who decided, and changes only when the reviewer says so.
function renderDecision(alert) {
  const decided = alert.status !== "new";
  const changing = decided && $("override").checked;
  $("decided").hidden = !decided;
  if (decided) {
    $("decided").textContent = `${alert.status === "confirmed" ? "Confirmed" : "Rejected"} by ` +
      `${alert.reviewed_by_user || "someone"} on ${formatTime(alert.reviewed_at)}` +
      (alert.review_note ? `: "${alert.review_note}"` : ".");
  }
  $("override-box").hidden = !decided;
  $("note").required = changing;
  for (const button of $("review-form").querySelectorAll("button[data-decision]")) {
    button.disabled = decided && !changing;
  }
}

async function decide(event) {
  event.preventDefault();
  const decision = event.submitter && event.submitter.dataset.decision;
  if (!current || !decision) return;
  const override = current.status !== "new";
  const note = $("note").value.trim() || null;
  if (override && !note) {
    showStatus($("review-status"), "Say why you change the decision in the note.", true);
    $("note").focus();
    return;
  }
  const buttons = $("review-form").querySelectorAll("button[data-decision]");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const alert = await api("POST", `/alerts/${current.id}/review`, { decision, note, ...(override ? { override } : {}) });
    current = alert;
    $("note").value = "";
    $("override").checked = false;
    updateStatusFact(alert.status);
    renderDecision(alert);
    showStatus($("review-status"), `Alert ${alert.status}.`);
  } catch (error) {
    renderDecision(current);
    if (error.status === 409) {
      showStatus($("review-status"), "Someone decided this alert meanwhile: the page shows their decision.", true);
      openAlert(current.id);
    } else {
      showError($("review-status"), error);
    }
  }
}

function updateStatusFact(status) {
  const terms = [...$("alert-facts").querySelectorAll("dt")];
  const term = terms.find((dt) => dt.textContent === "Status");
  if (term) term.nextElementSibling.textContent = status;
}
