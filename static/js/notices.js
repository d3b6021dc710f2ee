// Notices for the signed-in person (annotator.messages NoticeData): their image was rejected,
// work was assigned to them or taken back. Each shows as a toast with a link to where to look
// and stays until dismissed; only the newest few stay, so a burst never covers the page.
// Pages pass their socket's messages on as `annotator:event` on the document.

const KEEP = 3;
const LINK_TEXT = { rejected: "Open the image", accepted: "Open the image" };

// The live region exists before the first notice, so that screen readers announce it.
const area = document.createElement("div");
area.id = "notices";
area.className = "notices";
area.setAttribute("role", "status");
area.setAttribute("aria-live", "polite");
area.setAttribute("aria-label", "Notices");
document.body.append(area);

export function showNotice(data) {
  const item = document.createElement("div");
  item.className = `notice notice-${data.kind || "info"}`;
  const words = document.createElement("span");
  words.className = "notice-text";
  words.textContent = data.text || "";
  item.append(words);
  if (data.url) {
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = LINK_TEXT[data.kind] || "Open the project";
    item.append(link);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "icon";
  close.setAttribute("aria-label", "Dismiss notice");
  close.textContent = "✕";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  area.append(item);
  while (area.children.length > KEEP) area.firstElementChild.remove();
  return item;
}

document.addEventListener("annotator:event", (event) => {
  if (event.detail?.type === "notice") showNotice(event.detail.data || {});
});
