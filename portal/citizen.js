// Citizen page: ask the API for an upload ticket, POST the photo straight to S3, then follow the receipt.
"use strict";

const form = document.getElementById("sighting-form");
const progress = document.getElementById("progress");
const uploadStatus = document.getElementById("upload-status");

const STATUS_TEXT = {
  pending: "waiting for the photo", received: "being checked", processed: "checked and searched",
  rejected: "not accepted", duplicate: "already received", failed: "could not be processed",
  expired: "no photo arrived",
};

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
      const faces = receipt.faces == null ? "" : `${receipt.faces} face(s) found. `;
      document.getElementById("receipt-reason").textContent =
        `${STATUS_TEXT[receipt.status] || ""}. ${faces}${receipt.reason || ""}`.trim();
      if (!["pending", "received"].includes(receipt.status)) return; // both mean "still being checked"
    } catch (error) {
      statusNode.textContent = "unknown (" + error.message + ")";
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
