// Metrics registry: counters, gauges and fixed-bucket histograms with label sets, rendered
// in the Prometheus text exposition format (version 0.0.4) for the admin /metrics page.
//
// Hot path: updating a metric is one relaxed atomic operation (a CAS loop for doubles),
// never a lock. Looking up a child by label values takes the family's mutex, so do it once
// (when a backend is created, not per byte or per session) and keep the shared_ptr.
// Rendering takes each family's mutex only to walk its children.
//
// Ownership: the Registry owns its families (stable addresses for its lifetime); a family
// owns its children through shared_ptr, so remove() (a backend gone after a reload) stops
// exporting a child while whoever still holds it can keep updating it safely.
// Names follow the style guide: kha_<module>_<what>[_unit], counters end in _total.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kha::admin {

// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }
  // For a total kept elsewhere (the data path's own atomics): exports `total`, never
  // going backwards. Called at scrape time.
  void mirror(std::uint64_t total) {
    auto v = value_.load(std::memory_order_relaxed);
    while (v < total && !value_.compare_exchange_weak(v, total, std::memory_order_relaxed)) {
    }
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Buckets are fixed at creation: `bounds` are the ascending upper bounds ("le"); the +Inf
// bucket is implicit. observe() is a bucket search plus two relaxed atomic adds.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return *bounds_; }
  // For a histogram kept elsewhere with the same bounds: `per_bucket` (not cumulative,
  // bounds().size() + 1 values) and the sum replace this one's. Called at scrape time.
  void mirror(const std::uint64_t* per_bucket, double sum);

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_->size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Seconds, for connect and probe latencies: 0.5 ms .. 5 s.
extern const std::vector<double> kLatencyBuckets;

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  virtual const char* type() const = 0;
  // Appends "# HELP", "# TYPE" and one line per child (sorted by label values).
  virtual void render(std::string* out) const = 0;

 protected:
  // `name{a="x",b="y"} ` with `extra` appended as the last label (histograms' le).
  std::string series(std::string_view suffix, const LabelValues& values, std::string_view extra = {}) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

template <class M>
class Family : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::shared_ptr<const std::vector<double>> bounds = nullptr)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}

  // The child for `values` (one per label name), created on first use. Takes the lock.
  std::shared_ptr<M> with(const LabelValues& values);
  // Stops exporting the child; holders of it keep a valid object.
  void remove(const LabelValues& values);

  const char* type() const override;
  void render(std::string* out) const override;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<LabelValues, std::shared_ptr<M>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // Registers a family, or returns the one already registered under `name` (same kind and
  // labels; anything else is a programming error and aborts). Families render in
  // registration order.
  CounterFamily& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                             std::vector<double> bounds = kLatencyBuckets);

  // The Prometheus text exposition format, version 0.0.4.
  std::string render() const;
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  template <class F, class... A>
  F& add(const std::string& name, const std::string& help, std::vector<std::string> labels, A&&... args);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

// Prometheus sample value: integers without a fraction, "+Inf", "-Inf", "NaN", else the
// shortest text that reads back to the same double.
std::string format_sample(double v);

}  // namespace kha::admin
