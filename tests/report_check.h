// What a minidl report must be once a browser has drawn it, seen through the test's own script in
// the page (not the report's): each chart's drawn series and how many points each has, bands, axis
// labels; images that failed to decode; content wider than the screen. Shared by the report tests
// and by tests/report_screenshot.cpp, which makes the screenshots in docs/ the same way.
#pragma once

#include <string>
#include <vector>

#include "headless_browser.h"

namespace minidl::testing {

/// Per chart: {"id", "drawn", "series": [{"name", "points"}], "bands", "labels": [axis labels],
/// "ticks"}; and "images", "broken_images", "overflow" (page width beyond the viewport, px),
/// "confusion_cells", "digits", "tiles".
nlohmann::json look_at_report(HeadlessBrowser& browser);

/// Everything wrong with the page open in `browser`: its problems (exceptions, console errors,
/// requests), charts not drawn or drawn without points or axis labels, broken images, overflow.
std::vector<std::string> report_faults(HeadlessBrowser& browser, const nlohmann::json& seen);

/// Moves the mouse over the middle of chart `id` and returns the tooltip's text ("" if none shows).
std::string hover(HeadlessBrowser& browser, const std::string& id);

}  // namespace minidl::testing
