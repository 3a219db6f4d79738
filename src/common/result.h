// Result<T>: a value or the diagnostics that explain why there is none.
// Expected failures in user input travel as values; exceptions never cross a module boundary.
//
// The error rule, the same in every module:
//  - Whatever a user wrote (kha.yaml, the vip config, an inventory, a kubeconfig, the
//    flags) is read into a Result<T>: each Diagnostic names the file, line, column and
//    key and says what was expected, so the operator can go to the spot.
//  - A piece of text inside such input (an address, a prefix, a duration) is parsed into
//    std::optional<T> with `*why`; its caller turns `why` into a Diagnostic, because only
//    the caller knows where the text was.
//  - A runtime step (bind, open a socket, start a checker) returns std::error_code from
//    the system call, or "" / a sentence saying what failed, which the caller logs.
#pragma once

#include <utility>
#include <variant>

#include "common/diagnostic.h"

namespace kha {

template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Diagnostics errors) : state_(std::move(errors)) {}  // NOLINT
  Result(Diagnostic error) : state_(Diagnostics{std::move(error)}) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const Diagnostics& errors() const { return std::get<Diagnostics>(state_); }

 private:
  std::variant<T, Diagnostics> state_;
};

}  // namespace kha
