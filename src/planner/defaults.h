// Kubespray's role defaults that the endpoint rules read (spec section 1), as a VarMap
// with source "Kubespray default": the lowest precedence layer of every Scope.
#pragma once

#include "planner/value.h"

namespace kha::planner {

enum class KubesprayVersion;

const VarMap& kubespray_defaults(KubesprayVersion version);

}  // namespace kha::planner
