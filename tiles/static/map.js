// The map page (index.html): a file, not an inline script, so that the page's
// Content-Security-Policy allows scripts of this origin only (gateway/security_headers.py).
import * as maplibregl from "/tiles/static/maplibre-gl/maplibre-gl.mjs";

const style = await (await fetch("/tiles/style.json")).json();
const list = document.getElementById("categories");
for (const entry of style.metadata["threatmap:legend"]) {
  const item = document.createElement("li");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = entry.colour;
  item.append(swatch, document.createTextNode(entry.name_en));
  item.title = entry.name_pl;
  list.append(item);
}
const map = new maplibregl.Map({ container: "map", style, center: style.center, zoom: style.zoom,
                                 hash: true, attributionControl: { compact: true } });
map.addControl(new maplibregl.NavigationControl(), "top-right");
window.map = map;
