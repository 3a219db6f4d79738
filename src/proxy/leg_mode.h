// LegMode: how one direction of a relayed session moves bytes.
#pragma once

#include <cstddef>

namespace kha::proxy {

// Small request/response traffic (most apiserver calls) is copied through a
// per-thread buffer: one recv and one send per message. Bulk transfers (a large
// list, a snapshot) switch to splice(2), zero copy.
enum class LegMode { Copy, Splice };

inline constexpr std::size_t kCopyChunk = 64 * 1024;        // one recv into the per-thread buffer
inline constexpr std::size_t kBackToCopyBelow = 16 * 1024;  // a splice round smaller than this

// Pure: the mode of a leg's next round, given this round's mode and the bytes it moved
// before the source ran dry. `splice_allowed` is the config's `splice`.
// Copy -> Splice when one recv filled the whole chunk (more was waiting: bulk);
// Splice -> Copy when a whole round moved less than kBackToCopyBelow.
LegMode next_leg_mode(LegMode mode, std::size_t moved, bool splice_allowed);

}  // namespace kha::proxy
