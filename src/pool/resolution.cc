// judge_resolution(): set comparison of a backend's resolved addresses (resolution.h).
#include "pool/resolution.h"

#include <algorithm>

namespace kha::pool {

namespace {

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

Resolution judge_resolution(const std::vector<std::string>& previous, std::vector<std::string> found) {
  if (found.empty()) return {previous.empty() ? ResolutionEvent::FailedNone : ResolutionEvent::FailedKeeping, {}};
  // Duplicates (one address per socket type or per resolver answer) are dropped, first kept.
  std::vector<std::string> unique;
  for (auto& a : found)
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(std::move(a));
  const std::size_t dropped = unique.size() > kMaxResolved ? unique.size() - kMaxResolved : 0;
  if (dropped > 0) {
    unique = sorted_unique(std::move(unique));
    unique.resize(kMaxResolved);
  }
  if (previous.empty()) return {ResolutionEvent::First, std::move(unique), dropped};
  if (sorted_unique(previous) == sorted_unique(unique)) return {ResolutionEvent::Unchanged, {}, dropped};
  return {ResolutionEvent::Changed, std::move(unique), dropped};
}

std::string join_addresses(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return "none";
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a;
  return out;
}

}  // namespace kha::pool
