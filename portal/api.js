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

// --- footage: clip types, multipart uploads, times within a clip
const VIDEO_TYPES = { mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime", qt: "video/quicktime",
                      mkv: "video/x-matroska", avi: "video/x-msvideo", mjpeg: "video/x-motion-jpeg",
                      mjpg: "video/x-motion-jpeg" };
const PARALLEL_PARTS = 3; // parts in flight at once
const PART_ATTEMPTS = 3; // tries per part before the upload gives up

// The content type the API accepts for a clip file, from its name first (browsers often know no type for .mkv or
// .mjpeg, or call .avi "video/avi"); null when it is none of MP4, MOV, MKV, AVI or MJPEG.
function videoType(file) {
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  if (VIDEO_TYPES[ext]) return VIDEO_TYPES[ext];
  return Object.values(VIDEO_TYPES).includes(file.type) ? file.type : null;
}

// PUT a large file to S3 with a multipart ticket: part i is the bytes [i * part_bytes, (i + 1) * part_bytes),
// PUT to part_urls[i]. Each answer's ETag (the bucket's CORS rule exposes it) is what completing the upload needs.
// onBytes(sent, total) follows the bytes sent. Resolves to [{part_number, etag}], in order.
async function uploadParts(ticket, file, onBytes) {
  const size = ticket.part_bytes;
  const count = ticket.part_urls.length;
  if (Math.ceil(file.size / size) !== count) throw new Error("The upload ticket does not fit this file; choose it again.");
  const sent = new Array(count).fill(0);
  const parts = new Array(count);
  const report = () => onBytes && onBytes(sent.reduce((a, b) => a + b, 0), file.size);
  let next = 0;
  async function sender() {
    while (next < count) {
      const i = next++;
      const blob = file.slice(i * size, Math.min(file.size, (i + 1) * size));
      const etag = await putPart(ticket.part_urls[i], blob, (n) => { sent[i] = n; report(); });
      parts[i] = { part_number: i + 1, etag };
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, sender));
  return parts;
}

// PUT one part (retried on a network error or a 5xx); resolves to the ETag S3 answered.
function putPart(url, blob, onLoaded, attempt = 1) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onLoaded(e.loaded); });
    const retry = (why) => {
      onLoaded(0);
      if (attempt < PART_ATTEMPTS) putPart(url, blob, onLoaded, attempt + 1).then(resolve, reject);
      else reject(new Error(why));
    };
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        const etag = xhr.getResponseHeader("ETag");
        if (!etag) {
          reject(new Error("The storage did not show the part's ETag: its CORS rule must expose the ETag header."));
          return;
        }
        onLoaded(blob.size);
        resolve(etag);
      } else if (xhr.status >= 500) {
        retry(`A part of the upload was refused (${xhr.status}); retry.`);
      } else {
        reject(new Error(`A part of the upload was refused (${xhr.status}).`));
      }
    });
    xhr.addEventListener("error", () => retry("The upload failed: check the connection and retry."));
    xhr.send(blob);
  });
}

// Seconds into a clip as m:ss.s (or h:mm:ss.s).
function clipTime(seconds) {
  const s = Math.round(Math.max(0, seconds) * 10) / 10; // 59.96 is 1:00.0, not 0:60.0
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const rest = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// A wall-clock range: the date and time it starts, and the time it ends.
function timeRange(fromIso, untilIso) {
  const from = new Date(fromIso), until = new Date(untilIso);
  return `${from.toLocaleString()} to ${until.toLocaleTimeString()}`;
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
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
