#include "nginx_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "proc_stat.hpp"
#include "run_command.hpp"

namespace ef::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Whether `text` can stand in nginx.conf between single quotes as itself: no quote, escape,
// variable ($) or control character.
bool quotable(const std::string& text) {
  for (const unsigned char c : text)
    if (c == '\'' || c == '\\' || c == '$' || c < 0x20 || c == 0x7f) return false;
  return true;
}

// A device id as a key of nginx's map: no regex (~), and none of map's keywords, which stay
// keywords when quoted ("include" would read a file).
bool device_name(const std::string& id) {
  if (id.empty() || id == "default" || id == "include" || id == "hostnames" || id == "volatile")
    return false;
  for (const unsigned char c : id)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string quoted(const std::string& text) {
  return "'" + text + "'";
}

// The map from a device id (the location's capture) to its ETag.
Result<std::string> etag_map(const NginxSettings& s) {
  std::string out = "  map $device $etag {\n    default '';\n";
  for (const auto& [id, etag] : s.etags) {
    if (!device_name(id))
      return make_error(Errc::invalid_argument, "nginx: unusable device id '" + id + "'");
    if (etag.empty() || !quotable(etag))
      return make_error(Errc::invalid_argument, "nginx: unusable ETag for " + id);
    out += "    " + quoted(id) + " " + quoted(etag) + ";\n";
  }
  return out + "  }\n";
}

// The TLS server: the same certificate, key and client CA as edgefleet's, with its choices
// (src/core/http/tls.cpp): TLS 1.2 and 1.3, OpenSSL's default ciphers and curves, server
// preference, no session cache and no tickets.
std::string tls_server(const NginxSettings& s, unsigned short port) {
  return "    listen 127.0.0.1:" + std::to_string(port) + " ssl;\n" + "    ssl_certificate " +
         quoted(s.certificate.string()) + ";\n" + "    ssl_certificate_key " +
         quoted(s.key.string()) + ";\n" + "    ssl_client_certificate " +
         quoted(s.client_ca.string()) + ";\n" +
         "    ssl_verify_client on;\n"
         "    ssl_verify_depth 4;\n"
         "    ssl_protocols TLSv1.2 TLSv1.3;\n"
         "    ssl_ciphers DEFAULT;\n"
         "    ssl_prefer_server_ciphers on;\n"
         "    ssl_session_cache off;\n"
         "    ssl_session_tickets off;\n";
}

// What edgefleet does for a device's check-in, minus the store: the certificate must name the
// device, If-None-Match must be its ETag; the body is read and dropped (`return` discards it).
std::string checkin_location(const NginxSettings& s) {
  return "    location ~ ^/api/v1/devices/(?<device>[A-Za-z0-9._-]+)/checkin$ {\n"
         "      add_header ETag $etag always;\n"
         "      add_header Cache-Control " +
         quoted(s.cache_control) +
         " always;\n"
         "      if ($request_method != POST) { return 405; }\n"
         "      if ($etag = '') { return 404; }\n"
         "      if ($client_cn != $device) { return 403; }\n"
         "      if ($http_if_none_match != $etag) { return 200; }\n"
         "      return " +
         std::to_string(s.status) +
         ";\n"
         "    }\n"
         "    location / { return 404; }\n";
}

std::string in_dir(const NginxSettings& s, const char* name) {
  return quoted((s.dir / name).string());
}

// Master and workers under our control, every file in s.dir, nothing logged per request.
std::string process_and_http(const NginxSettings& s) {
  return "daemon off;\nmaster_process on;\nworker_processes " + std::to_string(s.workers) +
         ";\npid " + in_dir(s, "nginx.pid") + ";\nerror_log " + in_dir(s, "error.log") +
         " warn;\nevents {\n  worker_connections " + std::to_string(2 * s.max_connections + 64) +
         ";\n}\nhttp {\n  access_log off;\n  server_tokens off;\n" + "  client_body_temp_path " +
         in_dir(s, "client_body") + ";\n" + "  proxy_temp_path " + in_dir(s, "proxy") + ";\n" +
         "  fastcgi_temp_path " + in_dir(s, "fastcgi") + ";\n" + "  uwsgi_temp_path " +
         in_dir(s, "uwsgi") + ";\n" + "  scgi_temp_path " + in_dir(s, "scgi") + ";\n" +
         "  client_max_body_size 1m;\n  client_body_buffer_size 64k;\n" +
         // Keep-alive connections last the whole run, as edgefleet's do.
         "  keepalive_requests 1000000000;\n  keepalive_timeout 600s;\n  keepalive_time 1d;\n" +
         // The device a certificate names: the CN of its subject (RFC 2253, as nginx prints it).
         "  map $ssl_client_s_dn $client_cn {\n    default '';\n"
         "    '~(^|,)CN=(?<cn>[^,]+)' $cn;\n  }\n";
}

unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof a;
  unsigned short port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool accepts(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The processes whose parent is `parent`, from /proc.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) out.push_back(std::stoi(name));
  }
  return out;
}

// nginx in the foreground as our child, which gets SIGTERM should we die first.
pid_t spawn_nginx(const fs::path& dir) {
  const std::string prefix = dir.string() + "/", conf = (dir / "nginx.conf").string(),
                    log = (dir / "error.log").string(), out = (dir / "nginx.out").string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(kNginx, "nginx", "-p", prefix.c_str(), "-c", conf.c_str(), "-e", log.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::string> nginx_config(const NginxSettings& s, unsigned short port) {
  if (s.cache_control.empty() || !quotable(s.cache_control))
    return make_error(Errc::invalid_argument, "nginx: unusable Cache-Control value");
  if (!quotable(s.dir.string()) || !quotable(s.certificate.string()) || !quotable(s.key.string()) ||
      !quotable(s.client_ca.string()))
    return make_error(Errc::invalid_argument, "nginx: a path with a quote, $ or \\ in it");
  if (s.workers < 1 || s.max_connections < 1 || s.status < 100 || s.status > 599)
    return make_error(Errc::invalid_argument, "nginx: workers, connections or status out of range");
  EF_TRY(const std::string etags, etag_map(s));
  return process_and_http(s) + etags + "  server {\n" + tls_server(s, port) + checkin_location(s) +
         "  }\n}\n";
}

Result<std::unique_ptr<NginxPeer>> NginxPeer::start(const NginxSettings& s) {
  EF_TRY(const auto version, nginx_version());
  // The free port may be taken between our probe and nginx's bind (tests run in parallel).
  for (int attempt = 1;; ++attempt) {
    auto peer = start_once(s, version);
    if (peer || attempt == 3 ||
        peer.error().message.find("Address already in use") == std::string::npos)
      return peer;
  }
}

Result<std::unique_ptr<NginxPeer>> NginxPeer::start_once(const NginxSettings& s,
                                                         const std::string& version) {
  const unsigned short port = free_port();
  if (port == 0) return make_error(Errc::io, "nginx: no free port on 127.0.0.1");
  EF_TRY(const std::string config, nginx_config(s, port));
  std::error_code ec;
  fs::create_directories(s.dir, ec);
  fs::remove(s.dir / "error.log", ec);
  std::ofstream(s.dir / "nginx.conf") << config;
  std::unique_ptr<NginxPeer> peer(new NginxPeer(s.dir, spawn_nginx(s.dir), port));
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (::waitpid(peer->master_, &status, WNOHANG) == peer->master_) {
      peer->master_ = -1;
      return make_error(Errc::unhealthy, version + " did not start: " + peer->error_log() +
                                             slurp(s.dir / "nginx.out"));
    }
    if (accepts(port)) {
      peer->workers_ = children_of(peer->master_);
      if (static_cast<int>(peer->workers_.size()) == s.workers) return peer;
    }
    std::this_thread::sleep_for(20ms);
  }
  return make_error(Errc::timeout, version + " did not listen with " + std::to_string(s.workers) +
                                       " workers within 10 s: " + peer->error_log());
}

NginxPeer::~NginxPeer() {
  if (master_ <= 0) return;
  ::kill(master_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 500 && ::waitpid(master_, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(20ms);
  if (::waitpid(master_, &status, WNOHANG) == 0) {
    for (const pid_t w : children_of(master_))
      ::kill(w, SIGKILL);
    ::kill(master_, SIGKILL);
    ::waitpid(master_, &status, 0);
  }
}

double NginxPeer::cpu_seconds() const {
  double total = testing::read_proc(master_).cpu_seconds;
  for (const pid_t w : workers_)
    total += testing::read_proc(w).cpu_seconds;
  return total;
}

std::string NginxPeer::error_log() const {
  return slurp(dir_ / "error.log");
}

Result<std::string> nginx_version() {
  if (::access(kNginx, X_OK) != 0)
    return make_error(Errc::not_found,
                      std::string(kNginx) + " is not installed (Debian package nginx)");
  auto r = testing::run_command(std::string(kNginx) + " -v");
  const auto at = r.err.find("nginx/");
  if (r.exit_code != 0 || at == std::string::npos)
    return make_error(Errc::unhealthy, std::string(kNginx) + " -v failed: " + r.err);
  return r.err.substr(at, r.err.find_first_of(" \n", at) - at);
}

}  // namespace ef::bench
