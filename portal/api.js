// Shared by every page: config.js's settings, JSON calls to the API, uploads to S3 and small DOM helpers.
"use strict";

const CONFIG = window.FACETRACE_CONFIG || { apiUrl: "", auth: "dev" };
const TOKEN_KEY = "facetrace.token";

// An API answer that is not 2xx: its status and the API's own message (ErrorBody), for the page to explain.
class ApiError extends Error {
  constructor(status, message, method, path) {
    super(`${message} (${method} ${path}: ${status})`);
    this.status = status;
    this.reason = message;
  }
}

// Locally the agency id is sent as "Dev <id>"; in AWS the Cognito ID token itself is the Authorization header.
function authHeader() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  return CONFIG.auth === "dev" ? "Dev " + token : token;
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const auth = authHeader();
  if (auth) headers.Authorization = auth;
  let response;
  try {
    response = await fetch(CONFIG.apiUrl + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "the FaceTrace service could not be reached; check the connection and retry", method, path);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && data.errors && data.errors.length
      ? data.errors.map((e) => `${e.field}: ${e.rule}`).join("; ") : "";
    const message = (data && data.message) || response.statusText || "request failed";
    throw new ApiError(response.status, detail ? `${message}: ${detail}` : message, method, path);
  }
  return data;
}

// POST a file to S3 with the presigned form of an upload ticket. Every field first, the file last and named
// "file" (S3 ignores what follows it). XMLHttpRequest rather than fetch: only it reports upload progress.
function uploadFile(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    if (file.size > ticket.max_bytes) {
      reject(new Error(`The photo is larger than ${Math.round(ticket.max_bytes / 1e6)} MB.`));
      return;
    }
    const data = new FormData();
    for (const [name, value] of Object.entries(ticket.fields)) data.append(name, value);
    data.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ticket.url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && onProgress) onProgress(Math.round((100 * e.loaded) / e.total));
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress(100);
        resolve();
      } else {
        reject(new Error(`The upload was refused (${xhr.status}).`));
      }
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed: check the connection and retry.")));
    xhr.send(data);
  });
}

// The content type the API accepts for a photo file (a browser may not know HEIC).
function photoType(file) {
  const known = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/avif"];
  if (known.includes(file.type)) return file.type;
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  return { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", heic: "image/heic",
           heif: "image/heif", avif: "image/avif" }[ext] || "image/jpeg";
}

function setProgress(bar, percent) {
  bar.value = percent;
  bar.textContent = percent + "%";
}

// Build an element; text goes through textContent so nothing from the API is parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function showStatus(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle("error", isError);
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "unknown";
}

function facts(list, pairs) {
  list.replaceChildren(...Object.entries(pairs).flatMap(([k, v]) => [
    el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : document.createTextNode(String(v)))]));
}

function query(name) {
  return new URLSearchParams(location.search).get(name);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A table row whose cells carry their column's name, so that on a phone each row reads as a labelled card.
function row(attrs, cells) {
  return el("tr", attrs, ...Object.entries(cells).map(([label, value]) =>
    el("td", { "data-label": label }, value instanceof Node ? value : document.createTextNode(String(value)))));
}

// A photo with the face boxed: the box (x1, y1, x2, y2 in the photo's pixels) is placed in percent of the image.
function showPhoto(img, box, url, frame) {
  if (frame) frame.hidden = true;
  img.onload = () => {
    if (!box || !frame) return;
    const [x1, y1, x2, y2] = box;
    const w = img.naturalWidth, h = img.naturalHeight;
    Object.assign(frame.style, { left: `${(100 * x1) / w}%`, top: `${(100 * y1) / h}%`,
                                 width: `${(100 * (x2 - x1)) / w}%`, height: `${(100 * (y2 - y1)) / h}%` });
    frame.hidden = false;
  };
  if (url) img.src = url;
  else img.removeAttribute("src");
}
