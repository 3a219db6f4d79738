// Metrics registry: families, labelled series, histogram buckets and the Prometheus text rendering.
#include "admin/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kha::admin {

const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5};

std::string format_sample(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : "NaN";
}

namespace {

std::string escape_label(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string escape_help(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

[[noreturn]] void misuse(const std::string& what) {
  std::fprintf(stderr, "kha: metrics registry misuse: %s\n", what.c_str());
  std::abort();
}

}  // namespace

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_->size() + 1]) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  const auto& b = *bounds_;
  const auto i = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void Histogram::mirror(const std::uint64_t* per_bucket, double sum) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(per_bucket[i], std::memory_order_relaxed);
  sum_.store(sum, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;  // so that the +Inf bucket and _count always agree
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::string FamilyBase::series(std::string_view suffix, const LabelValues& values, std::string_view extra) const {
  std::string out = name_;
  out += suffix;
  if (!label_names_.empty() || !extra.empty()) {
    out += '{';
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
      if (i) out += ',';
      out += label_names_[i] + "=\"" + escape_label(values[i]) + '"';
    }
    if (!extra.empty()) {
      if (!label_names_.empty()) out += ',';
      out += extra;
    }
    out += '}';
  }
  out += ' ';
  return out;
}

template <class M>
std::shared_ptr<M> Family<M>::with(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    misuse(name_ + ": " + std::to_string(values.size()) + " label values for " +
           std::to_string(label_names_.size()) + " labels");
  }
  std::lock_guard lock(mutex_);
  auto& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<M, Histogram>) {
      child = std::make_shared<Histogram>(bounds_);
    } else {
      child = std::make_shared<M>();
    }
  }
  return child;
}

template <class M>
void Family<M>::remove(const LabelValues& values) {
  std::lock_guard lock(mutex_);
  children_.erase(values);
}

template <>
const char* Family<Counter>::type() const { return "counter"; }
template <>
const char* Family<Gauge>::type() const { return "gauge"; }
template <>
const char* Family<Histogram>::type() const { return "histogram"; }

template <class M>
void Family<M>::render(std::string* out) const {
  *out += "# HELP " + name_ + ' ' + escape_help(help_) + '\n';
  *out += "# TYPE " + name_ + ' ' + type() + '\n';
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<M, Counter>) {
      *out += series("", values) + std::to_string(child->value()) + '\n';
    } else if constexpr (std::is_same_v<M, Gauge>) {
      *out += series("", values) + format_sample(child->value()) + '\n';
    } else {
      const auto snap = child->snapshot();
      const auto& bounds = child->bounds();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        const std::string le = i < bounds.size() ? format_sample(bounds[i]) : "+Inf";
        *out += series("_bucket", values, "le=\"" + le + '"') + std::to_string(snap.cumulative[i]) + '\n';
      }
      *out += series("_sum", values) + format_sample(snap.sum) + '\n';
      *out += series("_count", values) + std::to_string(snap.count) + '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class F, class... A>
F& Registry::add(const std::string& name, const std::string& help, std::vector<std::string> labels, A&&... args) {
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    if (f->name() != name) continue;
    auto* same = dynamic_cast<F*>(f.get());
    if (!same) misuse(name + " registered twice with different types");
    return *same;
  }
  families_.push_back(std::make_unique<F>(name, help, std::move(labels), std::forward<A>(args)...));
  return static_cast<F&>(*families_.back());
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return add<CounterFamily>(name, help, std::move(labels));
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return add<GaugeFamily>(name, help, std::move(labels));
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return add<HistogramFamily>(name, help, std::move(labels),
                              std::make_shared<const std::vector<double>>(std::move(bounds)));
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) f->render(&out);
  return out;
}

}  // namespace kha::admin
