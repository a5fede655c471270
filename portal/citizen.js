// Citizen page: ask the API for an upload ticket, POST the photo straight to S3, then follow the receipt.
"use strict";

const form = document.getElementById("sighting-form");
const progress = document.getElementById("progress");
const uploadStatus = document.getElementById("upload-status");

const locationStatus = document.getElementById("location-status");
let coords = null; // only sent when the citizen adds it

if (CONFIG.retentionDays) document.getElementById("retention").textContent = `at most ${CONFIG.retentionDays} days`;

// What a citizen may know of their upload, in plain words; never whether it matched anyone.
function receiptWords(receipt) {
  const reason = receipt.reason ? ` ${receipt.reason}` : "";
  switch (receipt.status) {
    case "pending": return "Not received yet: waiting for the photo.";
    case "received": return "Received: being checked.";
    case "processed": return receipt.faces ? `Checked: ${receipt.faces} face(s) found and searched.`
      : `Checked: no face found.${reason}`;
    case "rejected": return `Could not be read.${reason}`;
    case "duplicate": return "Already received: the same photo was sent before and is on record.";
    case "failed": return "Received, but it could not be processed.";
    case "expired": return "Not received: no photo arrived with this receipt number before its upload ticket expired.";
    default: return reason.trim();
  }
}

document.getElementById("use-location").addEventListener("click", () => {
  if (!navigator.geolocation) return showStatus(locationStatus, "This browser cannot give a location.", true);
  showStatus(locationStatus, "Asking for your location...");
  navigator.geolocation.getCurrentPosition((position) => {
    coords = { lat: round(position.coords.latitude), lon: round(position.coords.longitude) };
    const within = Math.round(position.coords.accuracy || 0);
    showStatus(locationStatus, `Location added: ${coords.lat}, ${coords.lon}` + (within ? ` (within ${within} m).` : "."));
    document.getElementById("drop-location").hidden = false;
  }, (error) => {
    coords = null;
    showStatus(locationStatus, `Your location could not be read (${error.message || "refused"}); you can type the place instead.`, true);
  }, { enableHighAccuracy: true, timeout: 15000 });
});

document.getElementById("drop-location").addEventListener("click", (event) => {
  coords = null;
  event.target.hidden = true;
  showStatus(locationStatus, "No location is sent unless you add it.");
});

// About a metre: enough to find the place, no false precision.
function round(degrees) {
  return Math.round(degrees * 1e5) / 1e5;
}

document.getElementById("check-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("check-result");
  const id = document.getElementById("check-id").value.trim();
  try {
    const receipt = await api("GET", "/receipts/" + encodeURIComponent(id));
    showStatus(result, receiptWords(receipt));
  } catch (error) {
    if ([400, 404, 422].includes(error.status)) {
      showStatus(result, "Not received: no upload was ever announced with this receipt number. Check it and try again.");
    } else {
      showStatus(result, error.message, true);
    }
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("photo").files[0];
  if (!file) return showStatus(uploadStatus, "Choose a photo first.", true);
  const send = document.getElementById("send");
  send.disabled = true;
  try {
    const ticket = await api("POST", "/sightings/upload", details(file));
    showStatus(uploadStatus, "Uploading...");
    await uploadFile(ticket, file, (p) => setProgress(progress, p));
    showStatus(uploadStatus, "Photo sent. Thank you.");
    showReceipt(ticket.receipt_id);
  } catch (error) {
    showStatus(uploadStatus, error.message, true);
  } finally {
    send.disabled = false;
  }
});

function details(file) {
  const body = { content_type: photoType(file) };
  const place = document.getElementById("place").value.trim();
  const takenAt = document.getElementById("taken-at").value;
  if (place) body.place = place;
  if (takenAt) body.taken_at = new Date(takenAt).toISOString(); // the input is local time without a zone
  if (coords) Object.assign(body, coords);
  return body;
}

// The photo is checked and searched in the background; poll until the receipt leaves "pending".
async function showReceipt(receiptId) {
  document.getElementById("receipt-section").hidden = false;
  document.getElementById("receipt-id").textContent = receiptId;
  const statusNode = document.getElementById("receipt-status");
  for (let i = 0; i < 90; i++) {
    try {
      const receipt = await api("GET", "/receipts/" + receiptId);
      statusNode.textContent = receipt.status;
      statusNode.dataset.status = receipt.status;
      document.getElementById("receipt-reason").textContent = receiptWords(receipt);
      if (!["pending", "received"].includes(receipt.status)) return; // both mean "still being checked"
    } catch (error) {
      statusNode.textContent = "unknown (" + error.message + ")";
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
