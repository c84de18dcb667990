// After django-otp-webauthn registers a passkey: on to the form the page marks with
// data-after-passkey (the recovery codes, at first setup), or this page again (the list).
document.addEventListener("otp_webauthn.register_complete", function () {
  var next = document.querySelector("form[data-after-passkey]");
  if (next) {
    next.submit();
  } else {
    window.location.reload();
  }
});
