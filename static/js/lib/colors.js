// Colours of the editor's overlays. Each object instance gets its own colour, so two
// neighbours with one label never blur into one another; the label is shown beside it.

export const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
];

export function hexToRgb(hex) {
  const value = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!value) return [255, 255, 255];
  return [0, 2, 4].map((i) => parseInt(value[1].slice(i, i + 2), 16));
}

// The colour of the instance with this id: stable across reloads and distinct between
// neighbouring ids (a step through the palette that is coprime with its length).
export function instanceColor(id) {
  const n = PALETTE.length;
  const index = (((Number(id) || 0) * 7) % n + n) % n;
  return PALETTE[index];
}
