// GitTix: small progressive enhancements. Every page works without this file.
"use strict";

// Same words as the server renders (views::time_left).
function timeLeft(seconds) {
  var plural = function (n, unit) { return n + " " + unit + (n === 1 ? "" : "s"); };
  var mins = Math.floor(seconds / 60), secs = seconds % 60;
  if (seconds <= 0) return "Expired";
  if (mins === 0) return plural(secs, "second");
  if (secs === 0) return plural(mins, "minute");
  return plural(mins, "minute") + " " + plural(secs, "second");
}

// The countdown counts from the seconds the server computed, so a wrong clock in the browser
// does not matter. At zero the payment forms go away: the order can no longer be paid.
function startCountdown(timer) {
  var total = parseInt(timer.getAttribute("data-seconds-left"), 10);
  var started = Date.now();
  var tick = function () {
    var left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
    timer.textContent = timeLeft(left);
    if (left > 0) return;
    clearInterval(interval);
    document.querySelectorAll("[data-payment]").forEach(function (section) { section.hidden = true; });
    document.querySelectorAll("[data-expired-message]").forEach(function (message) { message.hidden = false; });
  };
  var interval = setInterval(tick, 1000);
}

// Two decimals once the seller leaves the price field, as the API stores cents.
function formatMoney(input) {
  input.addEventListener("blur", function () {
    var value = parseFloat(input.value);
    if (isFinite(value)) input.value = value.toFixed(2);
  });
}

// With a publishable key, Stripe.js tokenises the card in the browser; the form then posts only the token.
function mountStripe(form) {
  if (typeof window.Stripe !== "function") return;
  var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
  var card = stripe.elements().create("card");
  card.mount(form.querySelector("[data-card-element]"));
  var errors = form.querySelector("[data-card-errors]");
  form.addEventListener("submit", function (event) {
    var token = form.querySelector("input[name=token]");
    if (token.value) return;
    event.preventDefault();
    stripe.createToken(card).then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message;
        return;
      }
      token.value = result.token.id;
      form.submit();
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-seconds-left]").forEach(startCountdown);
  document.querySelectorAll("input[data-money]").forEach(formatMoney);
  // Stripe.js loads with `defer` too; it has run by the time DOMContentLoaded fires.
  document.querySelectorAll("form[data-stripe-key]").forEach(mountStripe);
});
