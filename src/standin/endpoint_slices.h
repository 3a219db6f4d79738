// EndpointSlices of the `kubernetes` service, as kube-apiserver serves them, built
// from a file the test edits: a JSON list of "ip:port" strings, re-read on every
// request and polled by watches. Used by endpoint discovery (issue 5).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/address.h"
#include "common/result.h"

namespace kha::standin {

// Parses the endpoints file's content: ["10.0.0.1:6443", "[fd00::1]:6443"].
// Diagnostics name `file` and the index of the bad element.
Result<std::vector<HostPort>> parse_endpoints(const std::string& text, const std::string& file);

// discovery.k8s.io/v1 EndpointSlice objects for `endpoints`: one slice per address
// family and port, named "kubernetes", "kubernetes-ipv6", "kubernetes-<port>"...,
// labelled kubernetes.io/service-name=kubernetes, every endpoint ready.
std::vector<nlohmann::json> make_slices(const std::vector<HostPort>& endpoints, std::uint64_t resource_version);

nlohmann::json make_slice_list(const std::vector<nlohmann::json>& slices, std::uint64_t resource_version);

// The current endpoints: the file when one is given, otherwise `fallback` (the
// stand-in's own address). The resource version grows each time the content changes.
class EndpointSource {
 public:
  EndpointSource(std::string file, std::vector<HostPort> fallback)
      : file_(std::move(file)), fallback_(std::move(fallback)) {}

  struct Snapshot {
    std::vector<nlohmann::json> slices;  // empty when error is set
    std::uint64_t resource_version = 0;
    std::string error;  // why the file could not be used; "" when fine
  };

  // Reads the file again (cheap: a few hundred bytes).
  Snapshot read();

 private:
  std::string file_;
  std::vector<HostPort> fallback_;
  std::string last_text_;
  std::uint64_t resource_version_ = 1;
};

// Watch events that turn `before` into `after` (slices matched by name): ADDED,
// MODIFIED and DELETED lines, each newline-terminated.
std::string slice_events(const std::vector<nlohmann::json>& before, const std::vector<nlohmann::json>& after);

}  // namespace kha::standin
