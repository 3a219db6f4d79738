// Scope: variable lookup by Ansible precedence, lazy template evaluation and the trace of what was read.
#include "planner/scope.h"

namespace kha::planner {

Scope::Scope(const Inventory& inventory, std::string host, const VarMap& defaults, const VarMap* facts)
    : inventory_(inventory), host_(std::move(host)), defaults_(defaults), facts_(facts) {
  if (inventory_.find_host(host_)) groups_ = inventory_.groups_of(host_);
  else groups_ = {"all"};
  computed_["inventory_hostname"] = Var{Value(host_), Source{"", 0, "inventory name"}};
}

const Var* Scope::raw(const std::string& name) const {
  auto find = [&](const VarMap& m) -> const Var* {
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
  };
  if (const Var* v = find(inventory_.extra_vars)) return v;
  if (facts_)
    if (const Var* v = find(*facts_)) return v;
  if (const Host* h = inventory_.find_host(host_)) {
    if (const Var* v = find(h->file_vars)) return v;
    if (const Var* v = find(h->vars)) return v;
  }
  for (auto it = groups_.rbegin(); it != groups_.rend(); ++it) {
    const Group* g = inventory_.find_group(*it);
    if (!g) continue;
    if (const Var* v = find(g->file_vars)) return v;
    if (const Var* v = find(g->vars)) return v;
  }
  if (const Var* v = find(computed_)) return v;
  return find(defaults_);
}

bool Scope::user_set(const std::string& name) const {
  const Var* v = raw(name);
  if (!v) return false;
  auto it = defaults_.find(name);
  if (it != defaults_.end() && &it->second == v) return false;
  auto ct = computed_.find(name);
  return !(ct != computed_.end() && &ct->second == v);
}

void Scope::set_computed(const std::string& name, Value value, const std::string& how) {
  computed_[name] = Var{std::move(value), Source{"", 0, "computed: " + how}};
}

namespace {

// Values plus string bytes in `v`: what building it cost.
std::size_t value_size(const Value& v) {
  if (v.is_string()) return 1 + v.get_ref<const std::string&>().size();
  std::size_t n = 1;
  if (v.is_object())
    for (const auto& it : v.items()) n += it.key().size() + value_size(it.value());
  else if (v.is_array())
    for (const auto& item : v) n += value_size(item);
  return n;
}

}  // namespace

std::optional<Value> Scope::resolve(const std::string& name, Diagnostics* errors) {
  if (stopped_) return std::nullopt;
  const bool outermost = evaluating_.empty();
  const Var* var = raw(name);
  // Reported once, at the variable the plan asked for: the nested one where the budget ran
  // out is an accident of evaluation order.
  auto stop = [&]() -> std::optional<Value> {
    stopped_ = true;
    if (outermost)
      errors->push_back({var ? var->source.file : "", var ? var->source.line : 0, 0, name,
                         "evaluating it for host '" + host_ + "' read more than " + std::to_string(kMaxReads) +
                             " variables or built more than 64 MiB (variables that refer to each other many times "
                             "over?); kha plan stops here"});
    return std::nullopt;
  };
  if (++reads_ > kMaxReads) return stop();
  std::optional<Value> result;
  if (var) {
    if (evaluating_.count(name)) {
      const std::string key = var->source.to_string() + "|" + name;
      if (error_keys_.insert(key).second)
        errors->push_back({var->source.file, var->source.line, 0, name, "variable refers to itself through its template"});
      return std::nullopt;
    }
    evaluating_.insert(name);
    std::string why;
    result = evaluate_value(var->value, *this, &why, errors);
    evaluating_.erase(name);
    if (stopped_ || (result && (produced_ += value_size(*result)) > kMaxProduced)) return stop();
    if (!result && !why.empty()) {
      const std::string key = var->source.to_string() + "|" + name;
      if (error_keys_.insert(key).second) {
        Diagnostic d{var->source.file, var->source.line, 0, name, why};
        if (var->source.file.empty()) d.message += " (" + var->source.layer + ")";
        errors->push_back(std::move(d));
      }
    }
  }
  if (traced_.insert(name).second)
    trace_.push_back(VarUse{name, result ? json_text(*result) : std::string("(undefined)"),
                            var ? var->source.to_string() : std::string("not set")});
  return result;
}

std::optional<Value> Scope::get(const std::string& name) { return resolve(name, &errors_); }

std::vector<VarUse> Scope::take_trace() {
  std::vector<VarUse> out;
  out.swap(trace_);
  traced_.clear();
  return out;
}

}  // namespace kha::planner
