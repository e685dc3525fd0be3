// Won vs quota per person, from the page's JSON data island (no inline script under our CSP).
(function () {
  "use strict";
  function draw() {
    var island = document.getElementById("forecast-chart-data");
    var canvas = document.getElementById("forecast-chart");
    if (!island || !canvas || typeof Chart === "undefined") return;
    var data = JSON.parse(island.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.wonLabel, data: data.won, backgroundColor: "rgba(25, 135, 84, 0.8)" },
          { label: data.quotaLabel, data: data.quota, backgroundColor: "rgba(108, 117, 125, 0.45)" }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        datasets: { bar: { maxBarThickness: 64 } },
        scales: { y: { beginAtZero: true } }
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
