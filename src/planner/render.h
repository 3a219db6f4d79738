// Render: the files `kha plan render` writes from a plan: per host running a local LB a
// kha proxy config and a static pod manifest; for an external LB its kha proxy config and
// the document's HAProxy equivalent; /etc/hosts lines where the chosen behaviour manages
// them; an etcd frontend config when etcd is reached through a VIP. render() is pure;
// write_rendered() does the file I/O.
#pragma once

#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "planner/plan.h"

namespace kha::planner {

struct RenderedFile {
  std::string path;     // relative to the output directory, e.g. "hosts/node1/etc/kha/kha.yaml"
  std::string content;
  bool kha_config = false;  // a kha proxy config (passes kha check-config)
};

std::vector<RenderedFile> render(const Plan& plan);

struct WriteResult {
  std::vector<std::string> report;  // one line per file: "wrote", "unchanged", "replaced"
  Diagnostics errors;
  bool conflict = false;  // an existing file differs and force was not given: nothing written
};

// Writes every file under `out_dir` atomically (temporary file, fsync, rename). Files that exist
// with other content are replaced only with `force`; without it nothing at all is written.
WriteResult write_rendered(const std::vector<RenderedFile>& files, const std::string& out_dir, bool force);

}  // namespace kha::planner
