// Cameras: register one (its key is shown once, with what its upload script needs), list them, revoke a key.
"use strict";

startAgencyPage(() => {
  $("camera-form").addEventListener("submit", register);
  $("copy-key").addEventListener("click", () => copy($("camera-key").value, $("camera-key"), "The key is copied."));
  $("copy-script").addEventListener("click", () => copy($("camera-script").textContent, $("camera-script"),
                                                         "The settings and the request are copied."));
  $("hide-key").addEventListener("click", hideKey);
  loadCameras();
});

async function register(event) {
  event.preventDefault();
  const body = { name: $("camera-name").value.trim(), place: $("camera-place").value.trim() };
  const button = $("camera-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const registered = await api("POST", "/cameras", body);
    $("camera-form").reset();
    showStatus($("add-status"), `${registered.camera.name} is registered.`);
    showKey(registered);
    loadCameras();
  } catch (error) {
    showError($("add-status"), error);
  } finally {
    button.disabled = false;
  }
}

// The key exists only in this answer: it is shown here once, and forgotten by the page when hidden or left.
function showKey(registered) {
  const cam = registered.camera;
  const apiBase = CONFIG.apiUrl || location.origin;
  facts($("key-facts"), { Camera: `${cam.name} (${cam.place})`, "Camera id": cam.id,
                          "Its clips land under": registered.upload_prefix });
  $("camera-key").value = registered.key;
  $("camera-script").textContent = [
    `FACETRACE_API=${apiBase}`,
    `FACETRACE_CAMERA_ID=${cam.id}`,
    `FACETRACE_CAMERA_KEY=${registered.key}`,
    "",
    "# for each recording: ask for a ticket, then send the file as the answer says",
    'curl -X POST "$FACETRACE_API/cameras/$FACETRACE_CAMERA_ID/footage" \\',
    '  -H "X-Camera-Key: $FACETRACE_CAMERA_KEY" -H "Content-Type: application/json" \\',
    `  -d '{"content_type": "video/mp4", "size_bytes": <file size>, "started_at": "<start, e.g. 2025-03-01T08:00:00Z>"}'`,
  ].join("\n");
  showStatus($("copy-status"), "");
  $("new-key").hidden = false;
  $("key-title").focus();
}

function hideKey() {
  $("camera-key").value = "";
  $("camera-script").textContent = "";
  $("key-facts").replaceChildren();
  $("new-key").hidden = true;
  $("camera-name").focus();
}

// The clipboard API where the browser allows it; else the text is selected for Ctrl+C.
async function copy(text, node, done) {
  try {
    await navigator.clipboard.writeText(text);
    showStatus($("copy-status"), done);
  } catch (error) {
    if (node.select) node.select();
    else window.getSelection().selectAllChildren(node);
    showStatus($("copy-status"), "The browser did not allow copying: the text is selected, press Ctrl+C (or Cmd+C).");
  }
}

async function loadCameras() {
  const table = $("cameras");
  try {
    const cameras = await api("GET", "/cameras");
    table.querySelector("tbody").replaceChildren(...cameras.map(cameraRow));
    table.hidden = cameras.length === 0;
    const active = cameras.filter((c) => !c.revoked_at).length;
    showStatus($("list-status"), cameras.length ? `${cameras.length} camera(s), ${active} active.` : "No camera yet.");
  } catch (error) {
    table.querySelector("tbody").replaceChildren();
    table.hidden = true;
    showError($("list-status"), error);
  }
}

function cameraRow(cam) {
  const key = cam.revoked_at ? `revoked ${formatTime(cam.revoked_at)}` : "active";
  const action = cam.revoked_at ? "-" : el("div", { class: "actions" }, revokeButton(cam));
  return row({ "data-camera-id": cam.id, class: cam.revoked_at ? "revoked" : null }, {
    Name: cam.name, Place: cam.place, Registered: formatTime(cam.created_at), Key: key, Action: action,
  });
}

function revokeButton(cam) {
  return el("button", { type: "button", class: "secondary", onclick: (e) => askToRevoke(cam, e.currentTarget.parentNode) },
            "Revoke", el("span", { class: "visually-hidden", text: ` the key of ${cam.name}` }));
}

// Revoking cannot be undone: the button asks once more, in place.
function askToRevoke(cam, cell) {
  const yes = el("button", { type: "button", class: "reject", onclick: () => revoke(cam) }, "Yes, revoke",
                 el("span", { class: "visually-hidden", text: ` the key of ${cam.name}` }));
  const no = el("button", { type: "button", class: "secondary",
                            onclick: () => { cell.replaceChildren(revokeButton(cam)); cell.firstChild.focus(); } }, "Cancel");
  cell.replaceChildren(el("span", { class: "hint", text: "It stops uploading at once." }), yes, no);
  yes.focus();
}

async function revoke(cam) {
  try {
    await api("DELETE", "/cameras/" + encodeURIComponent(cam.id));
    await loadCameras();
    // After the reload, which sets its own count, so the revocation is what the user reads last.
    showStatus($("list-status"), `The key of ${cam.name} is revoked.`);
  } catch (error) {
    showError($("list-status"), error);
  }
}
