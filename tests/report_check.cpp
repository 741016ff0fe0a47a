#include "report_check.h"

namespace minidl::testing {

namespace {

// Counts what is on the page, as drawn: a series' points are the vertices of its path (each "M"
// or "L" in its d attribute), so a curve with a point missing or added is seen as such.
const char* const kLook = R"js((() => {
  const charts = [...document.querySelectorAll('figure.chart')].map(f => ({
    id: f.dataset.chart,
    drawn: !!f.querySelector('.plot svg'),
    series: [...f.querySelectorAll('path.line')].map(p => ({
      name: p.dataset.name, points: ((p.getAttribute('d') || '').match(/[ML]/g) || []).length })),
    bands: f.querySelectorAll('path.band').length,
    labels: [...f.querySelectorAll('text.axis-label')].map(t => t.textContent),
    ticks: f.querySelectorAll('svg text').length - f.querySelectorAll('text.axis-label').length,
    legend: [...f.querySelectorAll('ul.legend li')].map(li => li.textContent)
  }));
  const images = [...document.images];
  return {
    charts,
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    confusion_cells: document.querySelectorAll('table.confusion td').length,
    digits: document.querySelectorAll('figure.digit').length,
    tiles: document.querySelectorAll('.tiles img').length
  };
})())js";

}  // namespace

nlohmann::json look_at_report(HeadlessBrowser& browser) { return browser.evaluate(kLook); }

std::vector<std::string> report_faults(HeadlessBrowser& browser, const nlohmann::json& seen) {
  std::vector<std::string> faults = browser.problems();
  if (seen.at("charts").empty()) faults.push_back("no charts at all");
  for (const auto& c : seen.at("charts")) {
    const std::string id = c.at("id").get<std::string>();
    if (!c.at("drawn").get<bool>()) faults.push_back("chart " + id + " was not drawn");
    if (c.at("series").empty()) faults.push_back("chart " + id + " has no series");
    for (const auto& s : c.at("series"))
      if (s.at("points").get<int64_t>() == 0)
        faults.push_back("chart " + id + ": series '" + s.at("name").get<std::string>() + "' has no points");
    if (c.at("labels").size() != 2) faults.push_back("chart " + id + " lacks its axis labels");
    if (c.at("ticks").get<int64_t>() < 4) faults.push_back("chart " + id + " has fewer than 4 tick labels");
  }
  if (seen.at("broken_images").get<int64_t>() > 0)
    faults.push_back(std::to_string(seen.at("broken_images").get<int64_t>()) + " images did not decode");
  if (seen.at("overflow").get<int64_t>() > 0)
    faults.push_back("the page is " + std::to_string(seen.at("overflow").get<int64_t>()) + " px wider than the screen");
  return faults;
}

std::string hover(HeadlessBrowser& browser, const std::string& id) {
  const nlohmann::json box =
      browser.evaluate("(() => { const f = document.querySelector('figure.chart[data-chart=\"" + id +
                       "\"] rect.hit');"
                       " f.scrollIntoView({block: 'center'}); const r = f.getBoundingClientRect();"
                       " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()");
  browser.move_mouse(box.at("x").get<double>(), box.at("y").get<double>());
  return browser
      .evaluate("(() => { const t = document.querySelector('figure.chart[data-chart=\"" + id +
                "\"] .tooltip'); return t && t.style.display === 'block' ? t.textContent : ''; })()")
      .get<std::string>();
}

}  // namespace minidl::testing
