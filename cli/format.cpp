#include "cli/format.h"

#include <cstdio>
#include <sstream>

namespace minidl::cli {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  for (std::string& item : split(text, ','))
    if (!item.empty()) items.push_back(std::move(item));
  return items;
}

}  // namespace minidl::cli
