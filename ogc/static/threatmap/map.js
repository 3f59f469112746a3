// The Leaflet maps of the OGC API HTML pages (ogc/templates): a collection's extent, a page of
// items, one item; and the items page's limit selector. pygeoapi's templates do this in inline
// scripts; here it is a file, so that a Content-Security-Policy with `script-src 'self'` allows
// it. What a map shows comes in data- attributes of its element (written by the templates).
//
// The base map: a tile URL template ({z}/{x}/{y}) is drawn as tiles; any other URL is read as
// GeoJSON and drawn as outlines (threatmap's default: Poland's voivodeships, served by us, so the
// map works offline and under a CSP that allows images from 'self' only).
"use strict";

(function () {
  const element = document.querySelector(".threatmap-map");

  function addBaseMap(map, url, attribution) {
    if (!url) return;
    if (url.includes("{z}")) {
      L.tileLayer(url, { maxZoom: 18, attribution: attribution }).addTo(map);
      return;
    }
    map.attributionControl.addAttribution(attribution);
    fetch(url)
      .then((response) => (response.ok ? response.json() : null))
      .then((outlines) => {
        if (!outlines) return;
        L.geoJSON(outlines, {
          interactive: false,
          style: { color: "#6c757d", weight: 1, fill: true, fillColor: "#f8f9fa", fillOpacity: 0.6 },
        }).addTo(map).bringToBack();
      })
      .catch(() => { /* the page works without its base map */ });
  }

  function popup(feature, itemsPath, titleField) {
    const link = document.createElement("a");
    link.href = itemsPath + "/" + encodeURIComponent(feature.id) + "?f=html";
    const title = titleField && feature.properties ? feature.properties[titleField] : null;
    link.textContent = title || feature.id;
    return link;
  }

  function collectionMap(map, data) {
    const bbox = JSON.parse(data.bbox);
    if (bbox[2] < bbox[0]) bbox[2] += 360;  // an extent across the antimeridian
    const clamp = (lat) => Math.max(-85.0511, Math.min(lat, 85.0511));
    const bounds = L.latLngBounds([clamp(bbox[1]), bbox[0]], [clamp(bbox[3]), bbox[2]]);
    L.rectangle(bounds, { fill: false }).addTo(map);
    map.fitBounds(bounds, { maxZoom: 10 });
  }

  function itemsMap(map, data) {
    const features = JSON.parse(data.features);
    const items = L.geoJSON(features, {
      onEachFeature: (feature, layer) => layer.bindPopup(popup(feature, data.itemsPath, data.titleField)),
    });
    const markers = L.markerClusterGroup({ disableClusteringAtZoom: 9, chunkedLoading: true, chunkInterval: 500 });
    markers.addLayer(items);
    map.addLayer(markers);
    if (items.getLayers().length) map.fitBounds(items.getBounds());
  }

  function itemMap(map, data) {
    const item = L.geoJSON(JSON.parse(data.features)).addTo(map);
    if (item.getLayers().length) map.fitBounds(item.getBounds(), { maxZoom: 15 });
  }

  if (element) {
    const data = element.dataset;
    const map = L.map(element, { maxZoom: 18 }).setView([52, 19], 5);  // markercluster needs maxZoom
    addBaseMap(map, data.basemap, data.attribution);
    ({ collection: collectionMap, items: itemsMap, item: itemMap })[data.map](map, data);
    window.threatmapMap = map;  // for the tests and the curious
  }

  const limits = document.getElementById("limits");
  if (limits) {
    const params = new URL(document.location).searchParams;
    limits.value = params.get("limit") || limits.options[0].value;
    limits.addEventListener("change", (event) => {
      document.location.search = "limit=" + encodeURIComponent(event.target.value);
    });
  }
})();
