// The latest event of each job this page heard of. A job's events can come over the socket
// before the reply that started it, so whoever starts one looks here first.

const latest = new Map();

export function noteJob(job) {
  latest.set(job.id, job);
  if (latest.size > 200) latest.delete(latest.keys().next().value);
}

export function jobSeen(id) {
  return latest.get(id) || null;
}
