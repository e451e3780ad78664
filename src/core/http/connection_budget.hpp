// Bounds on how many connections servers hold: in total, and per source address.
//
// Contract:
// - admit() either hands out a Ticket, which holds one place until it is destroyed, or says which
//   bound refused: the source's (max_per_source) is checked first, then the total (max_total).
// - A source is an IPv4 address or an IPv6 /64 (one IPv6 host commonly holds a whole /64, so a
//   bound per IPv6 address would bound nothing); an IPv4-mapped IPv6 address counts as the IPv4
//   address. A connection without an address (Unix-domain socket) counts only towards the total.
// - Thread-safe: one budget may be shared by several Servers (one per thread on one port with
//   SO_REUSEPORT, or the HTTPS and metrics listeners) so that its bounds hold for all of them
//   together. Tickets may be destroyed on any thread and may outlive the Servers: each keeps its
//   budget alive. A Server given no budget makes its own (see Limits in server.hpp).
// - Cost: one uncontended mutex and one hash-table update per accepted and per closed connection;
//   the table holds only sources with a connection open (at most max_total entries).
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace ef::http {

// Why a server refused a connection or cut it early. The names (to_string) are the label values of
// edgefleet_server_connections_refused{reason}.
enum class Refusal {
  per_source,    // the source already holds max_per_source connections
  total,         // the budget already holds max_total connections
  accept_error,  // accept() failed (out of descriptors or memory); the listener backs off, retries
  header_timeout,  // cut at the header timeout: no TLS handshake, first byte or whole request head
};
inline constexpr std::array<Refusal, 4> kRefusals = {
    Refusal::per_source, Refusal::total, Refusal::accept_error, Refusal::header_timeout};
std::string_view to_string(Refusal reason);

class ConnectionBudget : public std::enable_shared_from_this<ConnectionBudget> {
 public:
  static constexpr std::size_t kDefaultMaxPerSource = 10'000;

  // max_total 0: automatic, the process's open-file soft limit now (raise it first) less a tenth
  // (at least 64) kept for what connections need besides their socket: the store, uploads, files
  // being served, logs. A bound above the open-file limit would never hold: accept() would fail
  // first, and a flood would take the descriptors the accepted requests need.
  // max_per_source 0: no bound per source.
  static std::shared_ptr<ConnectionBudget> create(
      std::size_t max_total = 0, std::size_t max_per_source = kDefaultMaxPerSource);

  // What max_total 0 resolves to in this process now.
  static std::size_t automatic_max_total();

  // Holds one admitted connection's place; gives it back when destroyed. Move-only.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept = default;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }
    explicit operator bool() const { return budget_ != nullptr; }

   private:
    friend class ConnectionBudget;
    void release();
    std::shared_ptr<ConnectionBudget> budget_;
    std::optional<std::array<unsigned char, 16>> source_;
  };

  struct Admission {
    Ticket ticket;                   // holds a place when admitted
    std::optional<Refusal> refused;  // otherwise why not: per_source or total
  };
  // source: the peer's address; nullopt for connections that have none (Unix sockets).
  Admission admit(const std::optional<boost::asio::ip::address>& source);

  std::size_t max_total() const { return max_total_; }
  std::size_t max_per_source() const { return max_per_source_; }
  std::size_t open() const;
  std::size_t open_from(const boost::asio::ip::address& source) const;

 private:
  using Key = std::array<unsigned char, 16>;
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  struct Passkey {};

 public:
  ConnectionBudget(Passkey, std::size_t max_total, std::size_t max_per_source);

 private:
  static Key key_of(const boost::asio::ip::address& address);
  void give_back(const std::optional<Key>& source);

  const std::size_t max_total_;
  const std::size_t max_per_source_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<Key, std::size_t, KeyHash> per_source_;  // sources with connections only
};

}  // namespace ef::http
