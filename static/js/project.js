// The project page: sources (add, re-scan, rename, remove, restore), uploads with progress,
// the pool and its filters, the automask card, the export dialog, labels, members and
// settings. Panels are HTMX partials; actions go to the REST API, then the affected panel
// refreshes. Each part is a module of static/js/project/; this entry wires the live events.

import { ProjectSocket } from "./socket.js";
import "./notices.js";
import { assignmentEvent, initAssign } from "./project/assign.js";
import { exportJobEvent, initExport } from "./project/export.js";
import { embeddingsJobEvent, initEmbeddings } from "./project/embeddings.js";
import { importJobEvent, initImports } from "./project/imports.js";
import { initAutomask, showAutomaskJob } from "./project/jobs.js";
import { initLabels } from "./project/labels.js";
import { initMembers } from "./project/members.js";
import { $, P, refresh } from "./project/page.js";
import { initPool, initSelection, refreshPoolSoon } from "./project/pool.js";
import { initReviewCount, reviewCountEvent } from "./project/review-count.js";
import { initSources } from "./project/sources.js";

const CONNECTION = {
  connected: "live",
  reconnected: "live (reconnected)",
  reconnecting: "connection lost — reconnecting…",
  connecting: "connecting…",
  refused: "not allowed",
};

const JOB_HANDLERS = {
  automask_pool: showAutomaskJob,
  export: exportJobEvent,
  import: importJobEvent,
  prepare_embeddings: embeddingsJobEvent,
  source_scan: (job) => {
    if (job.status === "done") {
      refresh("sources");
      refresh("pool");
    }
  },
};

function onMessage(message) {
  const data = message.data;
  if (message.type === "job.progress") JOB_HANDLERS[data.kind]?.(data);
  if (message.type === "image.changed" || message.type === "automask.image") refreshPoolSoon();
  if (message.type === "image.changed") reviewCountEvent();
  if (message.type === "assignment.changed" || message.type === "image.changed") assignmentEvent();
  document.dispatchEvent(new CustomEvent("annotator:event", { detail: message }));
}

function onState(state) {
  const el = $("#connection");
  el.textContent = CONNECTION[state];
  el.dataset.state = state;
}

initPool();
initSelection();
initSources();
initAutomask();
initExport();
initImports();
initEmbeddings();
initLabels();
initMembers();
initAssign();
initReviewCount();
new ProjectSocket(P, { onMessage, onState });
