// The customer's location on a small map in the staff console. Everything it needs comes from
// data-* attributes, so the page needs no inline script (a strict Content-Security-Policy
// forbids one). Without tiles (offline, blocked) the marker and the link still work.
(function () {
  "use strict";
  var element = document.getElementById("submission-map");
  if (!element || typeof L === "undefined") return;
  var lat = Number(element.dataset.lat);
  var lng = Number(element.dataset.lng);
  if (!isFinite(lat) || !isFinite(lng)) return;

  // Leaflet guesses its image folder from its CSS URL, which a hashed static name breaks.
  L.Icon.Default.imagePath = element.dataset.iconPath;
  var map = L.map(element, { scrollWheelZoom: false }).setView(
    [lat, lng],
    Number(element.dataset.zoom || 17)
  );
  L.tileLayer(element.dataset.tileUrl, {
    attribution: element.dataset.attribution,
    maxZoom: 19,
  }).addTo(map);
  L.marker([lat, lng], { title: element.dataset.label, alt: element.dataset.label }).addTo(map);
  element.dataset.ready = "true";
})();
