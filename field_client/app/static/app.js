// The few things the server cannot do: ask the device for its position, send a photo as
// soon as it is taken, show a number's verdict while it is typed, and follow a sync.
"use strict";

function locate(timeoutMs) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve({ status: "unavailable" }); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ status: "ok", lat: p.coords.latitude, lon: p.coords.longitude,
                       accuracy: p.coords.accuracy }),
      (e) => resolve({ status: e.code === 1 ? "refused" : "unavailable" }),
      { enableHighAccuracy: true, timeout: timeoutMs || 10000, maximumAge: 30000 });
  });
}

function fillPosition(form, pos) {
  const values = { pos_status: pos.status, lat: pos.lat, lon: pos.lon, accuracy: pos.accuracy };
  for (const [name, value] of Object.entries(values)) {
    const input = form.querySelector(`input[name=${name}]`);
    if (input) input.value = value === undefined ? "" : value;
  }
}

// Forms marked data-locate carry the device position (or why there is none).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form[data-locate]") || form.dataset.located) return;
  event.preventDefault();
  const submitter = event.submitter;
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  fillPosition(form, await locate());
  form.dataset.located = "1";
  for (const button of form.querySelectorAll("button")) button.disabled = false;
  form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
});

// A photo is sent as soon as it is taken or chosen.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (input.matches("input[type=file][data-autosubmit]") && input.files.length) {
    input.form.requestSubmit();
  }
});

// A number's verdict against the limit in force, while it is typed (the server decides).
document.addEventListener("input", (event) => {
  const input = event.target;
  const shown = input.closest("form") && input.closest("form").querySelector(".live-verdict");
  if (!shown || !("max" in input.dataset || "min" in input.dataset || "above" in input.dataset)) return;
  const value = Number(input.value.trim());
  if (input.value.trim() === "" || Number.isNaN(value)) { shown.textContent = ""; return; }
  let ok = true;
  if ("max" in input.dataset) ok = ok && value <= Number(input.dataset.max);
  if ("min" in input.dataset) ok = ok && value >= Number(input.dataset.min);
  if ("above" in input.dataset) ok = ok && value > Number(input.dataset.above);
  shown.textContent = ok ? "→ 符合 / compliant" : "→ 不符合 / non-compliant";
  shown.style.color = ok ? "var(--good)" : "var(--bad)";
});

// The start screen sorts sites nearest first once it knows where the device is.
document.addEventListener("DOMContentLoaded", async () => {
  if (document.body.dataset.nearest === "ask") {
    const pos = await locate(8000);
    const params = new URLSearchParams(location.search);
    if (pos.status === "ok") {
      params.set("lat", pos.lat.toFixed(6)); params.set("lon", pos.lon.toFixed(6));
    } else {
      params.set("pos", pos.status);
    }
    // Only the list changes: messages on the page stay where they are.
    const url = `${location.pathname}?${params}`;
    const html = await (await fetch(url)).text();
    const fresh = new DOMParser().parseFromString(html, "text/html");
    for (const id of ["sites", "position-state"]) {
      document.getElementById(id).replaceWith(fresh.getElementById(id));
    }
    document.body.dataset.nearest = "done";
    history.replaceState(null, "", url);
  }
  const progress = document.getElementById("sync-progress");
  if (progress && progress.dataset.running === "yes") followSync(progress);
});

async function followSync(box) {
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const state = await (await fetch("/sync/progress")).json();
    box.querySelector(".inspections-done").textContent = state.inspections_done;
    box.querySelector(".inspections-total").textContent = state.inspections_total;
    box.querySelector(".bytes-done").textContent = Math.round(state.bytes_done / 1024);
    box.querySelector(".bytes-total").textContent = Math.round(state.bytes_total / 1024);
    box.querySelector("progress.inspections").max = state.inspections_total || 1;
    box.querySelector("progress.inspections").value = state.inspections_done;
    box.querySelector("progress.bytes").max = state.bytes_total || 1;
    box.querySelector("progress.bytes").value = state.bytes_done;
    if (!state.running) { location.replace("/sync"); return; }
  }
}

// Signatures: a finger or a mouse draws on a canvas; the form sends each drawn one as a PNG.
function signaturePad(canvas) {
  const pen = canvas.getContext("2d");
  pen.lineWidth = 2.5; pen.lineCap = "round"; pen.strokeStyle = "#111";
  let drawing = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
            (event.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true; canvas.setPointerCapture(event.pointerId);
    pen.beginPath(); pen.moveTo(...at(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    pen.lineTo(...at(event)); pen.stroke(); canvas.dataset.drawn = "yes";
  });
  canvas.addEventListener("pointerup", () => { drawing = false; });
  const clear = canvas.parentElement.querySelector(".clear-signature");
  if (clear) clear.addEventListener("click", () => {
    pen.clearRect(0, 0, canvas.width, canvas.height); delete canvas.dataset.drawn;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("canvas.signature").forEach(signaturePad);
  const refused = document.getElementById("refused");
  if (refused) {
    const show = () => {
      document.getElementById("witness").hidden = !refused.checked;
      document.getElementById("representative-sign").hidden = refused.checked;
    };
    refused.addEventListener("change", show);
    show();
  }
  // A second inspector picked from the users this device knows brings their badge number.
  const second = document.querySelector("input[name=inspector2_name]");
  if (second) second.addEventListener("change", () => {
    const known = [...document.querySelectorAll("#known-users option")]
      .find((option) => option.value === second.value);
    const badge = document.querySelector("input[name=inspector2_badge]");
    if (known && !badge.value) badge.value = known.dataset.badge;
  });
  const form = document.getElementById("record-form");
  if (form) form.addEventListener("submit", () => {
    for (const canvas of form.querySelectorAll("canvas.signature")) {
      const field = form.querySelector(`input[name=signature_${canvas.dataset.name}]`);
      field.value = canvas.dataset.drawn && !canvas.closest("[hidden]")
        ? canvas.toDataURL("image/png") : "";
    }
  });
});
