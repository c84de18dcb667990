// The map that fills the latitude and longitude fields. The fields are the truth: they stay
// visible and editable, so the form works without this script, without map tiles (a slow or
// offline network) and by keyboard. Configuration comes from data-* attributes (no inline
// script, for the Content-Security-Policy).
(function () {
  "use strict";
  var container = document.getElementById("location-map");
  if (!container || typeof window.L === "undefined") return;
  var L = window.L;
  var config = container.dataset;
  var latitudeInput = document.getElementById(config.latitudeInput);
  var longitudeInput = document.getElementById(config.longitudeInput);
  var statusLine = document.getElementById("location-status");
  var locateButton = document.getElementById("use-my-location");
  if (!latitudeInput || !longitudeInput) return;

  // Hashed static file names: give Leaflet each image's URL instead of letting it guess a
  // folder from its stylesheet.
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions({
    iconUrl: config.iconUrl,
    iconRetinaUrl: config.iconRetinaUrl,
    shadowUrl: config.shadowUrl,
  });

  container.hidden = false;
  document.getElementById("location-help").textContent = config.mapHelpText;
  // scrollWheelZoom off: scrolling down a long form on a laptop must not zoom the map.
  var map = L.map(container, { scrollWheelZoom: false, zoomControl: false }).setView(
    [Number(config.latitude), Number(config.longitude)],
    Number(config.zoom)
  );
  L.control.zoom({ zoomInTitle: config.zoomInText, zoomOutTitle: config.zoomOutText }).addTo(map);
  // Tiles that never arrive leave a grey map; clicks and the fields still work.
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  // The credits stay readable and clickable, but out of the Tab order: a keyboard user going
  // through the form should not land on them between two fields.
  container.querySelectorAll(".leaflet-control-attribution a").forEach(function (link) {
    link.tabIndex = -1;
  });
  var marker = null;

  function say(text) {
    statusLine.textContent = text || "";
  }

  function roundToSixDecimals(value) {
    return Math.round(value * 1e6) / 1e6;
  }

  function readFields() {
    var latitude = parseFloat(latitudeInput.value);
    var longitude = parseFloat(longitudeInput.value);
    var valid =
      isFinite(latitude) && isFinite(longitude) &&
      Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180;
    return valid ? L.latLng(latitude, longitude) : null;
  }

  function showPin(latlng) {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, { draggable: true, keyboard: true, alt: config.markerLabel });
    marker.on("dragend", function () {
      writeFields(marker.getLatLng());
    });
    marker.addTo(map);
  }

  function writeFields(latlng) {
    // wrap(): a click on a copy of the world east of 180° still gives a valid longitude.
    var wrapped = latlng.wrap();
    latitudeInput.value = roundToSixDecimals(wrapped.lat).toFixed(6);
    longitudeInput.value = roundToSixDecimals(wrapped.lng).toFixed(6);
    // "change", not "input": the form's draft hears it, and the pin does not follow itself.
    longitudeInput.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function placePin(latlng, message) {
    showPin(latlng);
    writeFields(latlng);
    say(message);
  }

  map.on("click", function (event) {
    placePin(event.latlng, config.pinPlacedText);
  });

  // Keyboard: with the map focused, Enter puts the pin at the centre of the map.
  container.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target === container) {
      event.preventDefault();
      placePin(map.getCenter(), config.pinPlacedText);
    }
  });

  // Typing coordinates moves the pin.
  function followFields() {
    var latlng = readFields();
    if (!latlng) return;
    showPin(latlng);
    map.panTo(latlng);
  }
  latitudeInput.addEventListener("input", followFields);
  longitudeInput.addEventListener("input", followFields);

  var initial = readFields();
  if (initial) {
    showPin(initial);
    map.setView(initial, Math.max(map.getZoom(), 16));
  }

  if (locateButton && navigator.geolocation) {
    document.getElementById("location-tools").hidden = false;
    locateButton.addEventListener("click", function () {
      say(config.locatingText);
      locateButton.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          locateButton.disabled = false;
          var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
          placePin(latlng, config.locatedText);
          map.setView(latlng, 17);
        },
        function () {
          locateButton.disabled = false;
          say(config.locationErrorText);
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
})();
