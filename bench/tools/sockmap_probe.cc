// sockmap_probe: how fast could a proxy relay bytes if the kernel forwarded them
// itself, with no wake-up, recv or send of the proxy per message? A measurement tool
// for bench/RESULTS.md ("beyond the kernel's socket API"), not part of kha.
//
//   sockmap_probe LISTEN_PORT BACKEND_PORT [BACKEND_PORT ...] [--seconds S]
//
// Listens on 127.0.0.1:LISTEN_PORT; each client gets a connection to the next backend
// (round robin, 127.0.0.1). Both sockets go into a BPF sockhash keyed by the other
// socket's cookie, and an sk_skb verdict program redirects every skb that arrives on
// one socket to the egress of the other (bpf_sk_redirect_hash). User space only
// accepts, connects and tears down: an EOF on either side closes both (no half-close,
// no checks, no hedging: a probe of the data path's cost, nothing else). Needs root
// (CAP_BPF, CAP_NET_ADMIN). Stops by itself after S seconds (default 600).
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int bpf(int cmd, bpf_attr& attr) { return static_cast<int>(::syscall(__NR_bpf, cmd, &attr, sizeof attr)); }

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "sockmap_probe: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

int create_map() {
  bpf_attr a{};
  a.map_type = BPF_MAP_TYPE_SOCKHASH;
  a.key_size = 8;    // the cookie of the socket the bytes arrive on
  a.value_size = 4;  // the socket they leave by (a descriptor on update)
  a.max_entries = 20000;
  const int fd = bpf(BPF_MAP_CREATE, a);
  if (fd < 0) die("BPF_MAP_CREATE sockhash");
  return fd;
}

// r6 = skb; key = bpf_get_socket_cookie(skb); return bpf_sk_redirect_hash(skb, map, &key, 0)
int load_verdict(int map_fd) {
  std::vector<bpf_insn> p = {
      insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),
      insn(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
      insn(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, map_fd),
      insn(0, 0, 0, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -8),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),  // flags 0: the other socket's egress
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static char log[65536];
  static const char license[] = "GPL";
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_SK_SKB;
  a.insns = reinterpret_cast<std::uintptr_t>(p.data());
  a.insn_cnt = static_cast<std::uint32_t>(p.size());
  a.license = reinterpret_cast<std::uintptr_t>(license);
  a.log_buf = reinterpret_cast<std::uintptr_t>(log);
  a.log_size = sizeof log;
  a.log_level = 1;
  const int fd = bpf(BPF_PROG_LOAD, a);
  if (fd < 0) {
    std::fprintf(stderr, "%s\n", log);
    die("BPF_PROG_LOAD sk_skb verdict");
  }
  bpf_attr at{};
  at.target_fd = static_cast<std::uint32_t>(map_fd);
  at.attach_bpf_fd = static_cast<std::uint32_t>(fd);
  at.attach_type = BPF_SK_SKB_VERDICT;
  if (bpf(BPF_PROG_ATTACH, at) != 0) die("BPF_PROG_ATTACH sk_skb verdict");
  return fd;
}

std::uint64_t cookie(int fd) {
  std::uint64_t c = 0;
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) != 0) die("SO_COOKIE");
  return c;
}

bool map_update(int map_fd, std::uint64_t key, int sock_fd) {
  bpf_attr a{};
  a.map_fd = static_cast<std::uint32_t>(map_fd);
  a.key = reinterpret_cast<std::uintptr_t>(&key);
  a.value = reinterpret_cast<std::uintptr_t>(&sock_fd);
  a.flags = BPF_ANY;
  return bpf(BPF_MAP_UPDATE_ELEM, a) == 0;
}

void map_delete(int map_fd, std::uint64_t key) {
  bpf_attr a{};
  a.map_fd = static_cast<std::uint32_t>(map_fd);
  a.key = reinterpret_cast<std::uintptr_t>(&key);
  bpf(BPF_MAP_DELETE_ELEM, a);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

struct Pair {
  int fd[2];
  std::uint64_t key[2];
};

// Takes both sockets out of the map and closes them.
void close_pair(int map_fd, Pair& p) {
  for (int s = 0; s < 2; ++s) {
    map_delete(map_fd, p.key[s]);
    ::close(p.fd[s]);
    p.fd[s] = -1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> backends;
  int listen_port = 0;
  double seconds = 600;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (!listen_port) listen_port = std::atoi(a.c_str());
    else backends.push_back(std::atoi(a.c_str()));
  }
  if (listen_port <= 0 || backends.empty() || seconds <= 0 || seconds > 3600) {
    std::fprintf(stderr, "usage: sockmap_probe LISTEN_PORT BACKEND_PORT... [--seconds 1..3600]\n");
    return 2;
  }
  const int map_fd = create_map();
  load_verdict(map_fd);

  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto laddr = loopback(listen_port);
  if (::bind(lfd, reinterpret_cast<const sockaddr*>(&laddr), sizeof laddr) != 0) die("bind");
  if (::listen(lfd, 4096) != 0) die("listen");
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::fprintf(stderr, "sockmap_probe: listening on 127.0.0.1:%d\n", listen_port);

  std::size_t next = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<epoll_event> events(256);
  char buf[65536];
  std::vector<Pair*> closed;  // freed after the batch that closed them: a later event may name them
  while (std::chrono::steady_clock::now() < end) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
    for (int i = 0; i < n; ++i) {
      if (!events[i].data.ptr) {
        const int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        const int u = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const auto baddr = loopback(backends[next++ % backends.size()]);
        if (u < 0 || ::connect(u, reinterpret_cast<const sockaddr*>(&baddr), sizeof baddr) != 0) {
          ::close(c);
          if (u >= 0) ::close(u);
          continue;
        }
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto* p = new Pair{{c, u}, {cookie(c), cookie(u)}};
        // Bytes arriving on c leave by u and the other way round.
        if (!map_update(map_fd, p->key[0], u) || !map_update(map_fd, p->key[1], c)) {
          std::fprintf(stderr, "sockmap_probe: pair not relayed, map update: %s\n", std::strerror(errno));
          close_pair(map_fd, *p);
          delete p;
          continue;
        }
        // What arrived before the sockets joined the map is still queued: pass it on.
        for (int s = 0; s < 2; ++s) {
          for (;;) {
            const ssize_t got = ::recv(p->fd[s], buf, sizeof buf, MSG_DONTWAIT);
            if (got <= 0) break;
            ::send(p->fd[1 - s], buf, static_cast<std::size_t>(got), MSG_NOSIGNAL);
          }
        }
        for (int s = 0; s < 2; ++s) {
          epoll_event e{};
          e.events = EPOLLRDHUP | EPOLLET;
          e.data.ptr = p;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[s], &e);
        }
        continue;
      }
      auto* p = static_cast<Pair*>(events[i].data.ptr);
      if (p->fd[0] < 0) continue;  // closed earlier in this batch
      close_pair(map_fd, *p);
      closed.push_back(p);
    }
    for (Pair* p : closed) delete p;
    closed.clear();
  }
  return 0;
}
