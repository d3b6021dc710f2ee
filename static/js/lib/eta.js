// What a job's card shows, from one progress payload {status, done, total, eta_seconds}: the
// bar's fraction and the line under it are read from the same numbers, so they never
// disagree. Pure: no DOM, no clock (the caller passes how old the payload is).

export const ACTIVE = ["queued", "running", "cancelling"];

// A duration a person reads: "12 s", "about 3 min", "about 1 h 20 min".
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// Seconds left now: the payload's estimate less the seconds since it came, never below zero;
// null when the payload has none.
export function etaNow(etaSeconds, ageSeconds = 0) {
  if (etaSeconds === null || etaSeconds === undefined || !Number.isFinite(etaSeconds)) return null;
  return Math.max(0, etaSeconds - Math.max(0, ageSeconds));
}

function count(value) {
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? Math.floor(number) : 0;
}

// The card of a job: {fraction, text, status, active, cancelling}. `cancelAsked`: this tab asked
// to cancel, so an older "running" payload still reads as cancelling.
export function progressView(payload, { ageSeconds = 0, cancelAsked = false } = {}) {
  const total = count(payload?.total);
  const done = Math.min(count(payload?.done), total || count(payload?.done));
  let status = String(payload?.status || "queued");
  if (cancelAsked && (status === "queued" || status === "running")) status = "cancelling";
  const fraction = total ? done / total : 0;
  const counts = total ? `${done} / ${total}` : `${done}`;
  let text = counts;
  if (status === "queued") text = `${counts} · queued`;
  if (status === "running") {
    const left = etaNow(payload?.eta_seconds, ageSeconds);
    if (left === null) text = `${counts} · estimating time left…`;
    else if (left < 1) text = `${counts} · finishing…`;
    else text = `${counts} · about ${formatDuration(left)} left`;
  }
  if (status === "cancelling") text = `${counts} · cancelling…`;
  if (status === "cancelled") text = `${counts} · cancelled`;
  if (status === "failed") text = `${counts} · failed`;
  return { fraction, text, status, done, total, active: ACTIVE.includes(status), cancelling: status === "cancelling" };
}
