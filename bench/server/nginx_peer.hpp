// Debian's nginx as the yardstick for the unchanged check-in (issue 20): server_bench starts it
// with the edgefleet server's own certificate and key, the fleet CA and `ssl_verify_client on`,
// and has it answer POST /api/v1/devices/<id>/checkin as edgefleet answers an unchanged one: 304
// with the device's ETag and the same Cache-Control, the request body read and dropped. It also
// refuses what edgefleet would not answer with 304: a certificate naming another device (403), an
// If-None-Match other than the device's ETag (200, as edgefleet's "changed"), an unknown device
// (404), another method (405).
//
// The process is ours: nginx runs with `daemon off` as our child (its master and workers), every
// file it writes stays in NginxSettings::dir, it is stopped when the NginxPeer goes and, should
// this process die first, on our death (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.hpp"

namespace ef::bench {

// Debian's nginx binary (package nginx: the HTTP server with its ssl module built in).
inline constexpr const char* kNginx = "/usr/sbin/nginx";

struct NginxSettings {
  std::filesystem::path dir;  // created; nginx.conf, the pid, the error log and temp folders
  std::filesystem::path certificate, key, client_ca;
  int workers = 1;
  // Connections the bench holds at once; all may land on one worker, and nginx closes idle
  // keep-alive connections once a worker has used 15/16 of its worker_connections, so it gets
  // twice as many.
  int max_connections = 1024;
  std::map<std::string, std::string> etags;  // device id -> ETag as HTTP sends it (quoted)
  std::string cache_control;
  int status = 304;  // what a matching check-in is answered; anything else only to test the bench
};

// The configuration NginxPeer::start writes, listening on 127.0.0.1:port. Refuses an ETag or
// Cache-Control value that cannot be written into nginx.conf as one quoted string.
Result<std::string> nginx_config(const NginxSettings& settings, unsigned short port);

class NginxPeer {
 public:
  // Starts nginx on a free port of 127.0.0.1 and waits until it accepts connections and all its
  // workers run; the error names nginx's own error log when it does not start.
  static Result<std::unique_ptr<NginxPeer>> start(const NginxSettings& settings);
  ~NginxPeer();  // SIGTERM to the master (it stops its workers), SIGKILL after 10 s
  NginxPeer(const NginxPeer&) = delete;
  NginxPeer& operator=(const NginxPeer&) = delete;

  unsigned short port() const { return port_; }
  pid_t master() const { return master_; }
  const std::vector<pid_t>& workers() const { return workers_; }
  // CPU seconds of the master and its workers so far (user + system).
  double cpu_seconds() const;
  std::string error_log() const;

 private:
  static Result<std::unique_ptr<NginxPeer>> start_once(const NginxSettings& settings,
                                                       const std::string& version);
  NginxPeer(std::filesystem::path dir, pid_t master, unsigned short port)
      : dir_(std::move(dir)), master_(master), port_(port) {}

  std::filesystem::path dir_;
  pid_t master_;
  unsigned short port_;
  std::vector<pid_t> workers_;
};

// "nginx/1.22.1", or the error when the binary is missing or does not run.
Result<std::string> nginx_version();

}  // namespace ef::bench
