// The HTML of what a trained classifier shows (report/model_view.h): its confusion matrix, the test
// images it gets most confidently wrong, and its first layer's weights and feature maps.
#pragma once

#include <string>

#include <minidl/report/model_view.h>

namespace minidl::report {

/// The confusion matrix as a heatmap table with counts.
std::string confusion_html(const ModelView& view);
/// The most confidently wrong test images with their top three classes.
std::string wrong_digits_html(const ModelView& view);
/// Weight tiles and feature maps.
std::string learned_html(const ModelView& view);

}  // namespace minidl::report
