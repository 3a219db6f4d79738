// kha plan: evaluate a Kubespray inventory's API and etcd endpoints (table/json/yaml),
// explain one value, or render the configs (kha plan render). Exit 0 ok, 2 for bad input or
// settings Kubespray rejects, 1 when writing rendered files fails.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/plan_check_certs.h"
#include "common/json_text.h"
#include "planner/loader.h"
#include "planner/output.h"
#include "planner/render.h"

namespace kha::cli {

namespace {

struct PlanOptions {
  std::string inventory;
  std::string output = "table";
  std::string facts;
  std::string kubespray = "2.31";
  std::vector<std::string> extra_vars;
  std::string host, field;  // explain
  std::string out_dir;      // render
  bool force = false;       // render
  std::string timeout = "3s";  // check-certs
};

void add_common(CLI::App* cmd, PlanOptions* o) {
  cmd->add_option("-i,--inventory", o->inventory, "Kubespray inventory directory (inventory.ini or hosts.yaml, "
                                                  "group_vars/, host_vars/) or inventory file");
  cmd->add_option("--facts", o->facts, "Ansible fact cache directory (ansible -m setup --tree DIR)");
  cmd->add_option("--kubespray", o->kubespray, "Kubespray behaviour: 2.31 (current) or 2.28 (the document's era)")
      ->check(CLI::IsMember({"2.31", "2.28"}));
  cmd->add_option("-e,--extra-vars", o->extra_vars, "extra variables as in ansible: key=value, @file.yml or a YAML/JSON mapping")
      ->allow_extra_args(false);
}

void print_errors(const Diagnostics& errors) {
  for (const auto& e : errors) std::cerr << "kha plan: " << e.to_string() << "\n";
}

// Loads and plans; nullptr (after printing why) when the input is bad.
std::unique_ptr<planner::Plan> build(const PlanOptions& o, std::unique_ptr<planner::Inventory>* keep) {
  if (o.inventory.empty()) {
    std::cerr << "kha plan: -i PATH is required (a Kubespray inventory directory or file)\n";
    return nullptr;
  }
  auto inv = planner::load_inventory(o.inventory, o.extra_vars);
  if (!inv.ok()) {
    print_errors(inv.errors());
    return nullptr;
  }
  *keep = std::make_unique<planner::Inventory>(std::move(inv).value());
  planner::PlanInput input;
  input.inventory = keep->get();
  input.version = o.kubespray == "2.28" ? planner::KubesprayVersion::V2_28 : planner::KubesprayVersion::V2_31;
  if (!o.facts.empty()) {
    auto facts = planner::load_facts(o.facts, **keep);
    if (!facts.ok()) {
      print_errors(facts.errors());
      return nullptr;
    }
    input.facts = std::move(facts).value();
    input.facts_given = true;
  }
  auto result = planner::plan(input);
  if (!result.ok()) {
    print_errors(result.errors());
    return nullptr;
  }
  return std::make_unique<planner::Plan>(std::move(result).value());
}

void print_error_findings(const planner::Plan& plan) {
  for (const auto& f : plan.findings)
    if (f.severity == "error") std::cerr << "kha plan: error [" << f.code << "] " << f.field << ": " << f.message << "\n";
}

}  // namespace

void add_plan_command(CLI::App& root, int* exit_code) {
  auto opts = std::make_shared<PlanOptions>();
  auto* cmd = root.add_subcommand("plan", "Evaluate a Kubespray inventory: every node's apiserver and etcd endpoints, "
                                          "certificate SANs, /etc/hosts; flag what would break; render configs");
  add_common(cmd, opts.get());
  cmd->add_option("-o,--output", opts->output, "table (default), json or yaml")->check(CLI::IsMember({"table", "json", "yaml"}));
  cmd->footer("Exit codes: 0 ok (warnings allowed), 2 bad input or a setting Kubespray rejects.\n"
              "Subcommands: kha plan explain -i PATH HOST FIELD; kha plan render -i PATH --out DIR [--force];\n"
              "kha plan check-certs -i PATH [-o json] [--timeout 3s]");

  auto* explain_cmd = cmd->add_subcommand("explain", "Show the rule and the variables (with their files) behind one value");
  add_common(explain_cmd, opts.get());
  explain_cmd->add_option("HOST", opts->host, "inventory host name, or 'cluster' for cluster-wide values")->required();
  explain_cmd->add_option("FIELD", opts->field, "output field, e.g. kube_apiserver_endpoint")->required();

  auto* render_cmd = cmd->add_subcommand("render", "Write kha proxy configs, static pod manifests, HAProxy and /etc/hosts files");
  add_common(render_cmd, opts.get());
  render_cmd->add_option("--out", opts->out_dir, "output directory")->required();
  render_cmd->add_flag("--force", opts->force, "replace existing files that differ");

  auto* certs_cmd = cmd->add_subcommand(
      "check-certs", "Connect to every apiserver and etcd member the plan names, read its serving certificate and "
                     "report each name or address some node or component dials that its SANs do not cover");
  add_common(certs_cmd, opts.get());
  certs_cmd->add_option("-o,--output", opts->output, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
  certs_cmd->add_option("--timeout", opts->timeout, "connect and handshake timeout per endpoint")->capture_default_str();
  certs_cmd->footer("Exit codes: 0 every certificate covers every dialed name, 1 a name is missing or an endpoint "
                    "is unreachable, 2 bad input.");

  cmd->callback([cmd, explain_cmd, render_cmd, certs_cmd, opts, exit_code] {
    std::unique_ptr<planner::Inventory> inv;
    auto plan = build(*opts, &inv);
    if (!plan) {
      *exit_code = 2;
      return;
    }
    if (explain_cmd->parsed()) {
      auto text = planner::explain(*plan, opts->host, opts->field);
      if (!text.ok()) {
        print_errors(text.errors());
        *exit_code = 2;
        return;
      }
      std::cout << text.value();
      *exit_code = 0;
      return;
    }
    if (certs_cmd->parsed()) {
      if (plan->has_errors()) print_error_findings(*plan);
      *exit_code = run_plan_check_certs(*plan, opts->output, opts->timeout);
      return;
    }
    if (render_cmd->parsed()) {
      if (plan->has_errors()) {
        print_error_findings(*plan);
        std::cerr << "kha plan render: nothing rendered\n";
        *exit_code = 2;
        return;
      }
      auto files = planner::render(*plan);
      auto written = planner::write_rendered(files, opts->out_dir, opts->force);
      for (const auto& line : written.report) std::cout << line << "\n";
      if (!written.errors.empty()) {
        print_errors(written.errors);
        *exit_code = written.conflict ? 2 : 1;
        return;
      }
      *exit_code = 0;
      return;
    }
    if (opts->output == "json") std::cout << json_text(planner::plan_to_json(*plan), 2) << "\n";
    else if (opts->output == "yaml") std::cout << planner::plan_to_yaml(*plan);
    else std::cout << planner::plan_to_table(*plan);
    (void)cmd;
    if (plan->has_errors()) print_error_findings(*plan);
    *exit_code = plan->has_errors() ? 2 : 0;
  });
}

}  // namespace kha::cli
