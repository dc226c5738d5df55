// FaceRec kiosk: shows the camera, sends a downscaled frame about twice a second, shows the answer.
// The kiosk key arrives once in the pairing link's fragment (#key=..., never sent to the server in a URL)
// and is kept in this browser's localStorage; every request carries it as "Authorization: Kiosk <key>".
(function () {
  "use strict";
  const KEY_STORE = "facerec.kioskKey";
  const FRAME_WIDTH = 640;
  const HOLD_MS = 4000; // how long an answer stays up
  const DIRECTION_MS = 10000; // after tapping In or Out, how long the kiosk looks for a face
  // A liveness challenge: frames are taken this often while its steps are shown (for as long as it says).
  const CHALLENGE_FRAME_MS = 200;
  const CHALLENGE_WIDTH = 480;
  const STEPS = {
    left: { arrow: "\u2190", text: "Turn your head to your left" },
    right: { arrow: "\u2192", text: "Turn your head to your right" },
    blink: { arrow: "\u25C9", text: "Blink" },
  };

  const root = document.getElementById("kiosk");
  const video = document.getElementById("camera");
  const message = document.getElementById("message");
  const hint = document.getElementById("hint");
  const directions = document.getElementById("directions");
  const cue = document.getElementById("challenge");
  const interval = Number(root.dataset.intervalMs) || 500;
  const canvas = document.createElement("canvas");

  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("key")) {
    localStorage.setItem(KEY_STORE, fragment.get("key"));
    history.replaceState(null, "", location.pathname);
  }
  const key = localStorage.getItem(KEY_STORE);
  let config = null;
  let busy = false;
  let holdUntil = 0;
  let direction = null;
  let directionUntil = 0;

  function show(state, text, note) {
    root.dataset.state = state;
    message.textContent = text;
    hint.textContent = note || "";
  }

  function unpaired() {
    localStorage.removeItem(KEY_STORE);
    show("unpaired", "This kiosk is not paired", "HR: open the pairing link from Admin → Kiosks on this device.");
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({}, options, {
      headers: Object.assign({ Authorization: "Kiosk " + key, Accept: "application/json" }, (options || {}).headers),
      cache: "no-store",
    }));
    if (response.status === 401) {
      unpaired();
      throw new Error("unpaired");
    }
    return response;
  }

  function idle() {
    if (config && config.direction_mode === "buttons" && !direction) {
      show("idle", "Tap In or Out, then look at the camera");
    } else {
      show("idle", "Look at the camera");
    }
  }

  function chooseDirection(event) {
    direction = event.currentTarget.dataset.direction;
    directionUntil = Date.now() + DIRECTION_MS;
    for (const button of directions.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.direction === direction));
    }
    show("idle", direction === "in" ? "Clocking in: look at the camera" : "Clocking out: look at the camera");
  }

  function frame(width) {
    const scale = Math.min(1, (width || FRAME_WIDTH) / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Show the challenge's steps one after the other, taking frames all along; the server decides.
  async function runChallenge(challenge) {
    const body = new FormData();
    body.append("nonce", challenge.nonce);
    if (direction) body.append("direction", direction);
    const started = performance.now();
    let count = 0;
    async function film(ms) {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        const taken = performance.now();
        body.append("frames", await frame(CHALLENGE_WIDTH), `frame${count++}.jpg`);
        body.append("times", ((taken - started) / 1000).toFixed(3));
        await pause(Math.max(0, CHALLENGE_FRAME_MS - (performance.now() - taken)));
      }
    }
    show("challenge", "Look at the camera");
    await film(challenge.lead_seconds * 1000);
    for (const step of challenge.steps) {
      cue.hidden = false;
      cue.dataset.step = step;
      cue.textContent = STEPS[step].arrow;
      show("challenge", STEPS[step].text);
      await film(challenge.step_seconds * 1000);
    }
    cue.hidden = true;
    show("challenge", "Look at the camera");
    await film(challenge.lead_seconds * 1000);
    show("confirming", "Checking…");
    return api("/api/attendance/clock/challenge/", { method: "POST", body });
  }

  async function tick() {
    const now = Date.now();
    if (busy || now < holdUntil || !video.videoWidth) return;
    if (config.direction_mode === "buttons") {
      if (direction && now > directionUntil) {
        direction = null;
        directions.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
        idle();
      }
      if (!direction) return;
    }
    busy = true;
    try {
      const body = new FormData();
      body.append("Image", await frame(), "frame.jpg");
      if (direction) body.append("direction", direction);
      let response = await api("/api/attendance/clock/", { method: "POST", body });
      let answer = await response.json();
      if (response.ok && answer.status === "challenge") {
        response = await runChallenge(answer.challenge);
        answer = await response.json();
      }
      if (!response.ok) {
        show("error", answer.message || "The server refused the frame", "Retrying…");
        holdUntil = Date.now() + HOLD_MS;
      } else if (answer.status === "liveness_failed") {
        show("refused", answer.message, "Look at the camera to try again.");
        holdUntil = Date.now() + HOLD_MS;
        setTimeout(idle, HOLD_MS);
      } else if (answer.status === "clocked" || answer.status === "already" || answer.status === "unknown") {
        show(answer.status, answer.message, answer.status === "unknown" ? "If you work here, please see HR." : "");
        holdUntil = Date.now() + HOLD_MS;
        if (answer.status !== "unknown") direction = null;
        setTimeout(idle, HOLD_MS);
      } else if (answer.status === "confirming") {
        show("confirming", answer.message);
      } else if (root.dataset.state !== "idle") {
        idle();
      }
    } catch (error) {
      if (error.message !== "unpaired") {
        show("error", "No connection to the server", "Retrying…");
        holdUntil = Date.now() + HOLD_MS;
      }
    } finally {
      cue.hidden = true;
      busy = false;
    }
  }

  // --- PIN keypad (kiosks that allow PINs): the employee code, then the PIN, posted to clock/pin/ ---
  const KEYPAD_MS = 30000; // an untouched keypad closes after this long
  const keypad = document.getElementById("keypad");
  const keypadCode = document.getElementById("keypad-code");
  const keypadPin = document.getElementById("keypad-pin");
  const keypadPrompt = document.getElementById("keypad-prompt");
  let keypadTimer = null;

  function keypadInput() {
    return keypadPin.hidden ? keypadCode : keypadPin;
  }

  function keypadTouched() {
    clearTimeout(keypadTimer);
    keypadTimer = setTimeout(closeKeypad, KEYPAD_MS);
  }

  function openKeypad() {
    keypadCode.value = keypadPin.value = "";
    keypadPin.hidden = true;
    keypadCode.hidden = false;
    keypadPrompt.textContent = "Your employee code";
    keypadPrompt.htmlFor = "keypad-code";
    keypad.hidden = false;
    holdUntil = Infinity; // no frames are sent while someone types
    keypadCode.focus();
    keypadTouched();
  }

  function closeKeypad() {
    clearTimeout(keypadTimer);
    keypad.hidden = true;
    keypadCode.value = keypadPin.value = "";
    if (holdUntil === Infinity) holdUntil = 0;
  }

  function pressKey(event) {
    const input = keypadInput();
    const pressed = event.currentTarget.dataset.key;
    if (pressed === "back") input.value = input.value.slice(0, -1);
    else if (input.value.length < input.maxLength) input.value += pressed;
    input.focus();
    keypadTouched();
  }

  async function submitKeypad(event) {
    event.preventDefault();
    keypadTouched();
    if (keypadPin.hidden) {
      if (!keypadCode.value.trim()) return;
      keypadCode.hidden = true;
      keypadPin.hidden = false;
      keypadPrompt.textContent = "Your PIN";
      keypadPrompt.htmlFor = "keypad-pin";
      keypadPin.focus();
      return;
    }
    const body = { Employeecode: keypadCode.value.trim(), pin: keypadPin.value };
    if (direction) body.direction = direction;
    closeKeypad();
    holdUntil = Infinity;
    try {
      const response = await api("/api/attendance/clock/pin/", {
        method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
      });
      const answer = await response.json();
      if (response.ok) {
        show(answer.status, answer.message);
        direction = null;
      } else {
        show("error", answer.message || "The PIN was refused", answer.code === "pin_locked" ? "" : "Try again, or see HR.");
      }
    } catch (error) {
      if (error.message !== "unpaired") show("error", "No connection to the server", "Try again.");
    }
    holdUntil = Date.now() + HOLD_MS;
    setTimeout(idle, HOLD_MS);
  }

  function setUpKeypad() {
    const open = document.getElementById("pin-open");
    open.hidden = false;
    open.addEventListener("click", openKeypad);
    keypad.querySelectorAll("[data-key]").forEach((b) => b.addEventListener("click", pressKey));
    keypad.addEventListener("submit", submitKeypad);
    document.getElementById("keypad-cancel").addEventListener("click", closeKeypad);
  }

  async function start() {
    if (!key) return unpaired();
    try {
      config = await (await api("/api/attendance/kiosk/")).json();
    } catch (error) {
      if (error.message !== "unpaired") show("error", "No connection to the server", "Reload this page to retry.");
      return;
    }
    document.getElementById("kiosk-name").textContent = config.name;
    if (config.direction_mode === "buttons") {
      directions.hidden = false;
      directions.querySelectorAll("button").forEach((b) => b.addEventListener("click", chooseDirection));
    }
    if (config.allow_pin) setUpKeypad();
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" }, audio: false,
      });
    } catch (error) {
      show("error", "The camera is not available", String(error.message || error));
      return;
    }
    idle();
    setInterval(tick, interval);
    // The kiosk's clock: its own time zone (the server's, not the device's), 24-hour HH:MM.
    let clockFormat;
    try {
      clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: config.time_zone });
    } catch (error) { // a zone this browser does not know: the device's zone, still 24-hour
      clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    }
    const showTime = () => { document.getElementById("clock").textContent = clockFormat.format(new Date()); };
    showTime();
    setInterval(showTime, 1000);
  }

  start();
})();
