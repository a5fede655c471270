// One alert's review: both photos with the face boxed, the facts, and the decision (changed only on purpose).
// An alert raised by an appearance in a clip also plays its stretch of video with the face boxed over it.
"use strict";

let current = null; // the alert as last read or decided
let footage = null; // the alert's stretch of video (GET /alerts/{id}/footage), when it came from a clip
let still = null; // the sighting photo (link and face box): the appearance's best frame, for when the video cannot play
const EDGE_S = 0.5; // the box is held this long beyond the first and last points of the face's path
const MAX_GAP_S = 2.0; // between points further apart than this the face was not followed: no box in between

startAgencyPage(() => {
  const id = query("id");
  if (!id) {
    showStatus($("load-status"), "No alert given: open one from the alert queue.", true);
    return;
  }
  $("review-form").addEventListener("submit", decide);
  $("override").addEventListener("change", () => renderDecision(current));
  watchVideo();
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
    resetFootage();
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
  renderHistory(detail.decisions || []);
  renderDecision(current);
  loadFootage(detail);
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
  const before = current.status;
  const override = before !== "new";
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
    addHistory({ at: alert.reviewed_at, user_sub: alert.reviewed_by_user, action: override ? "alert.decision_changed"
      : `alert.${alert.status}`, reason: override ? `${before} -> ${alert.status}: ${note}` : note });
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

// Every decision and every change, oldest first, as the audit trail holds them.
const ACTION_WORDS = { "alert.confirmed": "Confirmed", "alert.rejected": "Rejected", "alert.decision_changed": "Changed" };

function renderHistory(decisions) {
  $("history").replaceChildren();
  decisions.forEach(addHistory);
}

function addHistory(entry) {
  const words = `${ACTION_WORDS[entry.action] || entry.action} by ${entry.user_sub || "someone"} on ${formatTime(entry.at)}`;
  $("history").append(el("li", { text: entry.reason ? `${words}: ${entry.reason}` : `${words}.` }));
  $("history-box").hidden = false;
}

function updateStatusFact(status) {
  const terms = [...$("alert-facts").querySelectorAll("dt")];
  const term = terms.find((dt) => dt.textContent === "Status");
  if (term) term.nextElementSibling.textContent = status;
}

// --- footage: the clip from a few seconds before the appearance, the face boxed on a canvas over the video
function watchVideo() {
  const video = $("clip-video");
  video.addEventListener("loadedmetadata", () => {
    if (!footage) return;
    video.currentTime = Math.min(footage.play_from_s, video.duration || footage.play_from_s);
    video.addEventListener("seeked", () => { $("player").dataset.ready = "true"; }, { once: true });
    drawBox();
  });
  video.addEventListener("error", cannotPlay);
  for (const name of ["timeupdate", "seeked", "pause", "loadeddata"]) video.addEventListener(name, drawBox);
  video.addEventListener("play", follow);
  window.addEventListener("resize", drawBox);
  $("go-appearance").addEventListener("click", () => seek(footage.start_s));
  $("go-lead-in").addEventListener("click", () => seek(footage.play_from_s));
}

// Asked for only once the alert is shown: the API audits the viewing. 404: the alert came from a photo.
async function loadFootage(detail) {
  resetFootage();
  still = { url: detail.sighting_photo_url, box: detail.face_box };
  let stretch;
  try {
    stretch = await api("GET", `/alerts/${encodeURIComponent(detail.alert.id)}/footage`);
  } catch (error) {
    if (error.status === 404) return;
    $("footage").hidden = false;
    showError($("footage-status"), error);
    return;
  }
  footage = { ...stretch, path: [...stretch.path].sort((a, b) => a[0] - b[0]) };
  $("footage").hidden = false;
  $("footage-range").textContent = seenWhen(stretch) + " The video starts a few seconds before; the orange box follows " +
    "the face.";
  if (!stretch.clip_url) {
    showStatus($("footage-status"), "The clip was erased after the retention period; the best frame is shown above.");
    return;
  }
  $("clip-download").href = stretch.clip_url;
  $("clip-download").hidden = false;
  $("player").hidden = false;
  $("footage-actions").hidden = false;
  const expires = new Date(Date.now() + stretch.urls_expire_in * 1000).toLocaleTimeString();
  showStatus($("footage-status"), `The video link works until ${expires}; reload the page after.`);
  $("clip-video").src = stretch.clip_url;
}

function seenWhen(stretch) {
  return `The person is seen from ${clipTime(stretch.start_s)} to ${clipTime(stretch.end_s)} into the clip, ` +
    `${timeRange(stretch.seen_from, stretch.seen_until)}${stretch.place ? `, ${stretch.place}` : ""}.`;
}

function resetFootage() {
  footage = null;
  const video = $("clip-video");
  video.removeAttribute("src");
  video.load();
  delete $("player").dataset.ready;
  for (const id of ["footage", "player", "footage-actions", "footage-fallback", "clip-download"]) $(id).hidden = true;
  $("clip-download").removeAttribute("href");
  showPhoto($("clip-still"), null, null, $("still-facebox"));
  $("footage-range").textContent = "";
  showStatus($("footage-status"), "");
  drawBox();
}

// The browser cannot play the clip (its codec or container) or load it: show the best frame and the download link.
function cannotPlay() {
  const video = $("clip-video");
  if (!footage || !video.getAttribute("src")) return;
  const unsupported = video.error && video.error.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED;
  $("player").hidden = true;
  $("footage-actions").hidden = true;
  $("fallback-why").textContent = unsupported || (video.error && video.error.code === MediaError.MEDIA_ERR_DECODE)
    ? `This browser cannot play this clip (${footage.content_type}). Here is the appearance's best frame; download ` +
      `the clip to watch ${clipTime(footage.start_s)} to ${clipTime(footage.end_s)} in a video player.`
    : "The clip could not be loaded (the link may have expired: reload the page). Here is the appearance's best frame.";
  $("footage-range").textContent = seenWhen(footage);
  if (still && still.url) showPhoto($("clip-still"), still.box, still.url, $("still-facebox"));
  $("footage-fallback").hidden = false;
  showStatus($("footage-status"), "");
}

function seek(seconds) {
  const video = $("clip-video");
  video.currentTime = seconds;
  video.focus();
}

// While playing, redraw at every frame the browser shows (or every animation frame where it cannot say).
function follow() {
  drawBox();
  const video = $("clip-video");
  if (video.paused || video.ended) return;
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(follow);
  else requestAnimationFrame(follow);
}

// The face's box at time t (clip pixels), interpolated between the points of its path; null where it is not followed.
function boxAt(t) {
  const path = footage ? footage.path : [];
  if (!path.length || t < path[0][0] - EDGE_S || t > path[path.length - 1][0] + EDGE_S) return null;
  const i = path.findIndex((p) => p[0] >= t);
  if (i === -1) return path[path.length - 1].slice(1);
  if (i === 0) return path[0].slice(1);
  const a = path[i - 1], b = path[i];
  const gap = b[0] - a[0];
  if (gap > MAX_GAP_S) {
    if (t - a[0] <= EDGE_S) return a.slice(1);
    return b[0] - t <= EDGE_S ? b.slice(1) : null;
  }
  const f = gap > 0 ? (t - a[0]) / gap : 0;
  return [1, 2, 3, 4].map((k) => a[k] + f * (b[k] - a[k]));
}

// Draw the box over the picture: the canvas covers the video element, whose picture is scaled to fit inside it.
function drawBox() {
  const video = $("clip-video"), canvas = $("clip-overlay");
  const ratio = window.devicePixelRatio || 1;
  const w = video.clientWidth, h = video.clientHeight;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const box = footage && video.videoWidth ? boxAt(video.currentTime) : null;
  canvas.dataset.time = video.currentTime.toFixed(2);
  canvas.dataset.box = box ? box.map((v) => v.toFixed(1)).join(",") : "";
  if (!box) return;
  const clipW = footage.width || video.videoWidth, clipH = footage.height || video.videoHeight;
  const scale = Math.min(w / video.videoWidth, h / video.videoHeight); // object-fit: contain
  const left = (w - video.videoWidth * scale) / 2, top = (h - video.videoHeight * scale) / 2;
  const sx = (scale * video.videoWidth) / clipW, sy = (scale * video.videoHeight) / clipH;
  const [x1, y1, x2, y2] = box;
  const rect = [(left + x1 * sx) * ratio, (top + y1 * sy) * ratio, (x2 - x1) * sx * ratio, (y2 - y1) * sy * ratio];
  ctx.lineWidth = 5 * ratio;
  ctx.strokeStyle = "#000";
  ctx.strokeRect(...rect);
  ctx.lineWidth = 3 * ratio;
  ctx.strokeStyle = "#f59e0b";
  ctx.strokeRect(...rect);
}
