// Category symbols and status colours as map images, drawn on a canvas in the browser: nothing
// to download (no glyph or sprite files), and driven by the catalogue (config/categories.yml's
// `icon`, config/statuses.yml's `colour`), so a new category or status needs no code.
import { categories, statuses } from "./page.js";

// The catalogue's icon names -> a symbol common system fonts carry; others: the icon's initial.
const SYMBOLS = {
  hammer: "⚒", trash: "♻", users: "☺", deer: "♞", music: "♫", tree: "♣", "car-racing": "⚑",
  parking: "P", train: "T", road: "≡", leaf: "❦", "hand-heart": "♥", quad: "⚙", gauge: "⚡",
  bottle: "⚗", pill: "✚", dog: "♘", fire: "♨", "deer-road": "⚠", paw: "✱", cup: "☕",
  "traffic-light": "⇄",
};

export function symbolOf(category) {
  const entry = categories.get(category);
  const icon = entry ? entry.icon : "";
  return SYMBOLS[icon] || (icon ? icon[0].toUpperCase() : "?");
}

const RATIO = Math.max(1, Math.min(3, Math.round(window.devicePixelRatio || 1)));

function canvas(width, height) {
  const c = document.createElement("canvas");
  c.width = width * RATIO;
  c.height = height * RATIO;
  const context = c.getContext("2d");
  context.scale(RATIO, RATIO);
  return [c, context];
}

/** A pin: a disc in the status's colour with the category's symbol, as ImageData. */
export function pinImage(category, status, size = 26) {
  const [c, g] = canvas(size, size);
  const colour = (statuses.get(status) || {}).colour || "#4b5563";
  g.beginPath();
  g.arc(size / 2, size / 2, size / 2 - 1.5, 0, 2 * Math.PI);
  g.fillStyle = colour;
  g.fill();
  g.lineWidth = 2;
  g.strokeStyle = "#ffffff";
  g.stroke();
  g.fillStyle = "#ffffff";
  g.font = `${Math.round(size * 0.5)}px system-ui, "DejaVu Sans", sans-serif`;
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(symbolOf(category), size / 2, size / 2 + 1);
  return { image: g.getImageData(0, 0, c.width, c.height), pixelRatio: RATIO };
}

/** A place name with a white halo, as ImageData (labels need no glyph files this way). */
export function labelImage(text, level) {
  const fontSize = level === "voivodeship" ? 14 : 11;
  const font = `${level === "voivodeship" ? "600 " : ""}${fontSize}px system-ui, "DejaVu Sans", sans-serif`;
  const [, probe] = canvas(1, 1);
  probe.font = font;
  const width = Math.ceil(probe.measureText(text).width) + 8;
  const height = fontSize + 8;
  const [c, g] = canvas(width, height);
  g.font = font;
  g.textBaseline = "middle";
  g.lineJoin = "round";
  g.lineWidth = 3;
  g.strokeStyle = "rgba(255,255,255,0.95)";
  g.strokeText(text, 4, height / 2);
  g.fillStyle = level === "voivodeship" ? "#3f3a33" : "#57524a";
  g.fillText(text, 4, height / 2);
  return { image: g.getImageData(0, 0, c.width, c.height), pixelRatio: RATIO };
}

/** A data URL of a pin, for the legend and popups. */
export function pinDataUrl(category, status, size = 22) {
  const { image } = pinImage(category, status, size);
  const [c] = canvas(size, size);
  c.getContext("2d").putImageData(image, 0, 0);
  return c.toDataURL();
}
