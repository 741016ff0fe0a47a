// Numbers and text as reports write them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace minidl::report {

/// `digits` decimals, as printf's %.*f.
std::string fixed(double v, int digits);
/// Up to 6 significant digits, as printf's %g: 0.01, 1e-05, 0.5.
std::string general(double v);
/// 0.98041 → "98.04%"; "–" when not finite.
std::string percent(double fraction, int digits = 2);
/// <code>text</code>, escaped.
std::string code(const std::string& text);
/// 1234567 → "1.2 MB".
std::string megabytes(size_t bytes);
std::vector<double> as_doubles(const std::vector<float>& v);

}  // namespace minidl::report
