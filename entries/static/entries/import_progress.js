// The import's progress bar: polls the job's status (JSON) and moves the bar; when the job has finished, the
// page is drawn again with its photo-by-photo report. A static file, so the admin's strict CSP (no inline
// script) holds; without script, the page's <noscript> refresh does the same.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "true") return;
  const set = (id, value) => { document.getElementById(id).textContent = value; };
  async function poll() {
    try {
      const answer = await fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"},
                                                         credentials: "same-origin"});
      if (answer.ok) {
        const job = await answer.json();
        document.getElementById("import-bar").value = job.percent;
        set("import-percent", job.percent);
        set("import-done", job.done);
        set("import-failed", job.failed);
        set("import-total", job.total);
        set("import-status", job.finished ? "finished" : job.status === "running" ? "importing…"
          : "waiting for a worker…");
        if (job.finished) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // the server is away a moment: try again at the next tick
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
