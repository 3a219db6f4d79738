// Ansible's INI inventory format (plugins/inventory/ini.py), the subset with a meaning here.
#include <cctype>
#include <charconv>

#include "planner/inventory_parser.h"

namespace kha::planner {

namespace {

// POSIX shlex with comments, as Ansible splits host lines: quotes group, '#' at a token
// start begins a comment. Returns false on an unterminated quote.
bool shlex_split(std::string_view line, std::vector<std::string>* out) {
  std::string cur;
  bool in_token = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_token) out->push_back(cur), cur.clear(), in_token = false;
      continue;
    }
    if (c == '#' && !in_token) break;
    in_token = true;
    if (c == '\'') {
      const auto end = line.find('\'', i + 1);
      if (end == std::string_view::npos) return false;
      cur.append(line.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\')) ++j;
        cur += line[j];
      }
      if (j >= line.size()) return false;
      i = j;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
    } else {
      cur += c;
    }
  }
  if (in_token) out->push_back(cur);
  return true;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

enum class State { Hosts, Children, Vars };

}  // namespace

bool valid_group_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

bool expand_host_pattern(const std::string& pattern, std::vector<std::string>* out, std::string* why) {
  const auto open = pattern.find('[');
  if (open == std::string::npos) {
    out->push_back(pattern);
    return true;
  }
  const auto close = pattern.find(']', open);
  const auto colon = pattern.find(':', open);
  if (close == std::string::npos || colon == std::string::npos || colon > close) {
    *why = "expected a host range like node[1:3], got '" + pattern + "'";
    return false;
  }
  const std::string a = pattern.substr(open + 1, colon - open - 1);
  const std::string b = pattern.substr(colon + 1, close - colon - 1);
  int from = 0, to = 0;
  auto r1 = std::from_chars(a.data(), a.data() + a.size(), from);
  auto r2 = std::from_chars(b.data(), b.data() + b.size(), to);
  if (a.empty() || b.empty() || r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != a.data() + a.size() ||
      r2.ptr != b.data() + b.size() || from > to || to - from > 10000) {
    *why = "expected a numeric host range [from:to] with from <= to, got '" + pattern + "'";
    return false;
  }
  const std::string head = pattern.substr(0, open), tail = pattern.substr(close + 1);
  for (int i = from; i <= to; ++i) {
    std::string num = std::to_string(i);
    if (a.size() > 1 && a[0] == '0' && num.size() < a.size()) num.insert(0, a.size() - num.size(), '0');
    if (!expand_host_pattern(head + num + tail, out, why)) return false;
    if (out->size() > 10000) {
      *why = "host range '" + pattern + "' expands to more than 10000 hosts";
      return false;
    }
  }
  return true;
}

Diagnostics parse_ini_inventory(std::string_view text, const std::string& file, Inventory* inv) {
  Diagnostics errors;
  State state = State::Hosts;
  std::string group = "ungrouped";
  std::vector<std::pair<std::string, int>> vars_sections;  // [g:vars] seen, to check g exists
  std::vector<std::string> defined;                          // groups with a [g] or [g:children] section
  int lineno = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line = trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++lineno;
    auto fail = [&](const std::string& key, const std::string& msg) { errors.push_back({file, lineno, 0, key, msg}); };
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const Source src{file, lineno, "inventory"};
    if (line[0] == '[') {
      auto close = line.find(']');
      std::string rest = close == std::string::npos ? "" : trim(line.substr(close + 1));
      if (close == std::string::npos || (!rest.empty() && rest[0] != '#' && rest[0] != ';')) {
        fail("", "expected a section header like [group], [group:children] or [group:vars], got '" + line + "'");
        group.clear();
        continue;
      }
      const std::string header = line.substr(1, close - 1);
      const auto colon = header.find(':');
      group = header.substr(0, colon);
      const std::string kind = colon == std::string::npos ? "" : header.substr(colon + 1);
      if (!valid_group_name(group)) {
        fail("", "invalid group name '" + group + "' (letters, digits, '_' and '-' only)");
        group.clear();
        continue;
      }
      if (kind.empty() || kind == "hosts") state = State::Hosts;
      else if (kind == "children") state = State::Children;
      else if (kind == "vars") state = State::Vars;
      else {
        fail("", "section [" + header + "] has unknown type '" + kind + "' (expected children or vars)");
        group.clear();
        continue;
      }
      if (state == State::Vars) vars_sections.emplace_back(group, lineno);
      else defined.push_back(group);
      inv->group(group, src);
      continue;
    }
    if (group.empty()) continue;  // inside a section whose header was rejected
    if (state == State::Children) {
      if (!valid_group_name(line)) {
        fail(group, "expected a child group name, got '" + line + "'");
        continue;
      }
      if (line == group) {
        fail(group, "group cannot be its own child");
        continue;
      }
      inv->group(line, src);
      if (!inv->add_child(group, line)) fail(group, "child group '" + line + "' listed twice");
      continue;
    }
    if (state == State::Vars) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) {
        fail(group, "expected key=value in [" + group + ":vars], got '" + line + "'");
        continue;
      }
      const std::string key = trim(line.substr(0, eq));
      if (key.empty()) {
        fail(group, "expected a variable name before '='");
        continue;
      }
      inv->group(group, src).vars[key] = Var{parse_ini_literal(trim(line.substr(eq + 1))), Source{file, lineno, "inventory [" + group + ":vars]"}};
      continue;
    }
    std::vector<std::string> tokens;
    if (!shlex_split(line, &tokens)) {
      fail(group, "unterminated quote in host line '" + line + "'");
      continue;
    }
    if (tokens.empty()) continue;
    std::string pattern = tokens[0];
    std::optional<long long> port;
    if (const auto c = pattern.rfind(':'); c != std::string::npos && pattern.find(':') == c &&
                                           pattern.find(']', c) == std::string::npos) {
      long long p = 0;
      const std::string ptext = pattern.substr(c + 1);
      auto r = std::from_chars(ptext.data(), ptext.data() + ptext.size(), p);
      if (r.ec != std::errc() || r.ptr != ptext.data() + ptext.size() || p < 1 || p > 65535) {
        fail(group, "expected host[:port] with a port from 1 to 65535, got '" + pattern + "'");
        continue;
      }
      port = p;
      pattern = pattern.substr(0, c);
    }
    std::vector<std::string> names;
    std::string why;
    if (!expand_host_pattern(pattern, &names, &why)) {
      fail(group, why);
      continue;
    }
    VarMap vars;
    bool bad = false;
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const auto eq = tokens[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        fail(names[0], "expected key=value host variable, got '" + tokens[i] + "'");
        bad = true;
        continue;
      }
      vars[tokens[i].substr(0, eq)] = Var{parse_ini_literal(tokens[i].substr(eq + 1)), Source{file, lineno, "inventory host line"}};
    }
    if (port) vars["ansible_port"] = Var{Value(*port), Source{file, lineno, "inventory host line"}};
    if (bad) continue;
    for (const auto& name : names) {
      Host& h = inv->host(name, src);
      for (auto& [k, v] : vars) h.vars[k] = v;
      if (!inv->add_member(group, name))
        fail(name, "host listed twice in group [" + group + "]");
    }
  }
  for (const auto& [g, line] : vars_sections) {
    bool ok = false;
    for (const auto& d : defined) ok = ok || d == g;
    const Group* grp = inv->find_group(g);
    if (!ok && grp && grp->hosts.empty() && grp->children.empty() && g != "all" && g != "ungrouped") {
      bool is_child = false;
      for (const auto& name : inv->group_order()) {
        const Group* p = inv->find_group(name);
        if (name != "all")
          for (const auto& kid : p->children) is_child = is_child || kid == g;
      }
      if (!is_child) errors.push_back({file, line, 0, g, "section [" + g + ":vars] for a group that is never defined"});
    }
  }
  return errors;
}

}  // namespace kha::planner
