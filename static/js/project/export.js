// The export dialog: its choices come back from the project's export settings (the last
// export's), the mask form is offered only where the format uses it, and the job's progress.

import { api, errorMessage } from "../socket.js";
import { $, P, config, say, setProgress } from "./page.js";

// Which mask forms each format writes (projects/exports/formats.py MASK_FORMS_FOR); the PNG
// formats draw pixels and the archive keeps masks as stored, so they take none.
const MASK_FORMS = {
  coco: ["coco_rle", "uncompressed_rle", "polygons"],
  seed_json: ["coco_rle", "uncompressed_rle"],
  csv: ["coco_rle", "uncompressed_rle"],
};
const NO_MASK_FORM = {
  binary_mask: "Binary mask PNGs hold the masks as pixels: the mask form does not apply.",
  voc: "Pascal VOC PNGs hold the masks as pixels: the mask form does not apply.",
  yolo_seg: "YOLO-seg label files hold polygons: the mask form does not apply.",
  label_studio: "Label Studio holds masks as its own brush RLE: the mask form does not apply.",
  cvat: "CVAT holds masks as its own RLE over each mask's box: the mask form does not apply.",
  archive: "The project archive keeps every mask as it is stored: the mask form does not apply.",
};
const POLYGONS_NOT_HERE = "This format holds RLE only: a polygon would not be a mask there.";

const exporter = {
  dialog: $("#export-dialog"),
  form: $("#export-form"),
  box: $("#export-progress"),
  message: $("#export-message"),
  download: $("#export-download"),
  job: null,
  preferredForm: "coco_rle", // the form chosen last, put back when a format takes it again
};

export function maskFormFor(format, preferred) {
  const forms = MASK_FORMS[format];
  if (!forms) return null;
  return forms.includes(preferred) ? preferred : forms[0];
}

function fitMaskForm() {
  const form = exporter.form;
  const select = form.mask_form;
  const forms = MASK_FORMS[form.format.value];
  select.disabled = !forms;
  select.title = forms ? "" : NO_MASK_FORM[form.format.value] || "";
  for (const option of select.options) {
    const usable = !forms || forms.includes(option.value);
    option.disabled = !usable;
    option.title = usable ? "" : POLYGONS_NOT_HERE;
  }
  if (forms) select.value = maskFormFor(form.format.value, exporter.preferredForm);
  $("#export-mask-form-note").textContent = select.title;
  $("#export-convention-row").hidden = !takesConvention(form.format.value, select.value);
}

// Where polygon vertices lie matters to COCO polygons and YOLO-seg only.
export function takesConvention(format, maskForm) {
  return format === "yolo_seg" || (format === "coco" && maskForm === "polygons");
}

function restoreChoices() {
  const choices = config.exportSettings?.choices || {};
  const form = exporter.form;
  if (choices.format && [...form.format.options].some((o) => o.value === choices.format)) form.format.value = choices.format;
  if (choices.mask_form) exporter.preferredForm = choices.mask_form;
  if (choices.polygon_convention === "centres") form.polygon_convention.value = "centres";
  if (Array.isArray(choices.records)) for (const box of form.querySelectorAll("[name=records]")) box.checked = choices.records.includes(box.value);
  // The saved scope is the last export's ({kind, completed_only, ...}).
  const scope = typeof choices.scope === "string" ? { kind: choices.scope, completed_only: true } : choices.scope || {};
  form.scope.value = scope.kind === "filter" && scope.completed_only ? "filter" : "pool";
  fitMaskForm();
}

function showExportJob(job, downloadUrl) {
  exporter.job = job.id;
  setProgress(exporter.box, job.total ? job.done / job.total : 0, `${job.done} / ${job.total} images`);
  say(exporter.message, job.message || job.status, job.status === "failed");
  if (job.status === "done") {
    exporter.download.href = downloadUrl || `/api/exports/${job.id}/download/`;
    exporter.download.hidden = false;
    say(exporter.message, "Your export is ready.");
  }
}

export function exportJobEvent(job) {
  if (job.id === exporter.job) showExportJob(job);
}

async function startExport() {
  const form = exporter.form;
  exporter.download.hidden = true;
  const body = {
    format: form.format.value,
    records: [...form.querySelectorAll("[name=records]:checked")].map((b) => b.value),
    scope: form.scope.value,
  };
  if (MASK_FORMS[body.format]) body.mask_form = form.mask_form.value;
  if (takesConvention(body.format, form.mask_form.value)) body.polygon_convention = form.polygon_convention.value;
  if (body.scope === "filter") body.completed_only = true;
  const button = $("#export-start");
  button.disabled = true;
  const result = await api("POST", `/api/projects/${P}/exports/`, body);
  button.disabled = false;
  if (!result.ok) return say(exporter.message, errorMessage(result), true);
  showExportJob(result.data.job, result.data.download_url);
}

export function initExport() {
  for (const opener of document.querySelectorAll("[data-dialog]")) {
    opener.addEventListener("click", () => $(`#${opener.dataset.dialog}`).showModal());
  }
  $("#export-close").addEventListener("click", () => exporter.dialog.close());
  exporter.form.format.addEventListener("change", fitMaskForm);
  exporter.form.mask_form.addEventListener("change", () => {
    exporter.preferredForm = exporter.form.mask_form.value;
    fitMaskForm();
  });
  $("#export-start").addEventListener("click", startExport);
  restoreChoices();
}
