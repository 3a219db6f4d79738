// Scope: the variables one host sees, with Ansible's precedence (lowest first):
// Kubespray defaults < values kha computes (main_ip, ...) < group vars by group depth and name
// (inventory file, then group_vars/) < host vars (inventory file, then host_vars/) < facts
// (--facts) < -e. Evaluates templates lazily on read and records what each read used.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "planner/inventory.h"
#include "planner/template.h"

namespace kha::planner {

// One variable read, for `kha plan explain`.
struct VarUse {
  std::string name;
  std::string value;   // JSON text of the evaluated value, or "(undefined)"
  std::string origin;  // "group_vars/all/all.yml:12", "Kubespray default", "computed: ..."
};

class Scope : public Resolver {
 public:
  // `defaults` and `facts` must outlive the scope; `facts` may be null.
  Scope(const Inventory& inventory, std::string host, const VarMap& defaults, const VarMap* facts);
  Scope(const Inventory&, std::string, const VarMap&&, const VarMap*) = delete;  // defaults must outlive the scope

  const std::string& host() const { return host_; }
  // The evaluated value, or nullopt if undefined or if its template failed (see errors()).
  std::optional<Value> get(const std::string& name);
  // The highest-precedence definition, unevaluated; null if undefined.
  const Var* raw(const std::string& name) const;
  // True when the variable is set anywhere above the Kubespray defaults.
  bool user_set(const std::string& name) const;
  // Adds a value kha computed (main_ip, ...), below every inventory layer.
  void set_computed(const std::string& name, Value value, const std::string& how);

  // Evaluation is bounded per scope: kMaxReads variable reads and kMaxProduced values plus
  // string bytes in their results, so variables that refer to each other many times over
  // (v1: "{{ v0 }}{{ v0 }}...", v2: "{{ v1 }}{{ v1 }}...") end in an error naming the variable
  // where the budget ran out, not in an exponential blow-up. A real host reads a few thousand.
  static constexpr std::size_t kMaxReads = 100'000;
  static constexpr std::size_t kMaxProduced = 64 * 1024 * 1024;
  std::optional<Value> resolve(const std::string& name, Diagnostics* errors) override;
  // True once the budget ran out; errors() then holds the cause.
  bool stopped() const { return stopped_; }

  // Reads since the last take_trace(), first read of each name once.
  std::vector<VarUse> take_trace();
  const Diagnostics& errors() const { return errors_; }

 private:
  const Inventory& inventory_;
  std::string host_;
  const VarMap& defaults_;
  const VarMap* facts_;
  VarMap computed_;
  std::vector<std::string> groups_;  // precedence order, lowest first
  std::set<std::string> evaluating_;
  std::vector<VarUse> trace_;
  std::set<std::string> traced_;
  Diagnostics errors_;
  std::set<std::string> error_keys_;
  std::size_t reads_ = 0;      // resolve() calls so far
  std::size_t produced_ = 0;   // value_size() of their results so far
  bool stopped_ = false;       // the budget ran out: every resolve() from now on is undefined
};

}  // namespace kha::planner
