#include "postgres_cluster.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "run_command.hpp"

namespace ef::testing {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPackage = "postgresql-15";

// The newest <root>/<version>/bin holding initdb; root is Debian's /usr/lib/postgresql unless
// EF_TEST_POSTGRES_ROOT says otherwise (the test of the missing-package message uses that).
Result<fs::path> find_bin() {
  const char* override_root = std::getenv("EF_TEST_POSTGRES_ROOT");
  const fs::path root = override_root ? override_root : "/usr/lib/postgresql";
  fs::path best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const auto bin = entry.path() / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl") && bin > best) best = bin;
  }
  if (best.empty()) {
    return make_error(Errc::not_found, "PostgreSQL's initdb was not found under " + root.string() +
                                           "/*/bin: install Debian's " + std::string(kPackage) +
                                           " package (listed in scripts/packages/test.txt)");
  }
  return best;
}

// Runs a program as the postgres user when we are root (PostgreSQL refuses root), else as us.
std::string as_postgres(const std::string& command) {
  return ::geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";  // mkdtemp names: no quotes inside
}

Status run(const std::string& what, const std::string& command) {
  auto r = run_command(command);
  if (r.exit_code == 0) return {};
  return make_error(Errc::io,
                    what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err + r.out);
}

// A folder that the postgres user owns (when we are root), under the system's temporary folder.
Result<fs::path> make_postgres_dir(const std::string& prefix) {
  std::string dir = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (::mkdtemp(dir.data()) == nullptr) return make_error(Errc::io, "mkdtemp: " + dir);
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr || ::chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) {
      fs::remove_all(dir);
      return make_error(Errc::not_found, "no postgres user to own " + dir + ": install Debian's " +
                                             std::string(kPackage));
    }
  }
  return fs::path(dir);
}

// Runs initdb in a temporary folder and copies its result to root/data, then marks it ready.
Status make_template(const fs::path& bin, const fs::path& root) {
  EF_TRY(auto work, make_postgres_dir("ef-pg-initdb-"));
  auto done = run(
      "initdb", as_postgres(quoted(bin / "initdb") + " -D " + quoted(work / "data") +
                            " -U postgres --auth=trust --encoding=UTF8 --locale=C --wal-segsize=1 "
                            "--no-sync --no-instructions"));
  if (done) {
    fs::remove_all(root);
    done = run("copying the template", "mkdir -p " + quoted(root) + " && cp -a " +
                                           quoted(work / "data") + " " + quoted(root) +
                                           " && touch " + quoted(root / "ready"));
  }
  fs::remove_all(work);
  return done;
}

// initdb takes 1-2 s and gives the same result every time, so it runs once per build tree: the
// first test process makes build/postgres-template-<version>-v2/data (under a lock, for parallel
// ctest) and every cluster starts from a copy of it (half of initdb's time here; 1 MB WAL
// segments keep it small). Bump v2 when initdb's options change.
Result<fs::path> template_data(const fs::path& bin) {
  const fs::path root = fs::path(EF_BINARY_DIR) /
                        ("postgres-template-" + bin.parent_path().filename().string() + "-v2");
  const int lock = ::open((root.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) ::close(lock);
    return make_error(Errc::io, "locking " + root.string() + ".lock");
  }
  Status made;
  if (!fs::exists(root / "ready")) made = make_template(bin, root);
  ::close(lock);  // releases the lock
  if (!made) return made.error();
  return root / "data";
}

std::string log_tail(const fs::path& log) {
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

Result<std::unique_ptr<PostgresCluster>> PostgresCluster::start() {
  EF_TRY(auto bin, find_bin());
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster());
  EF_CHECK(cluster->init(bin));
  return cluster;
}

Result<PostgresCluster*> PostgresCluster::shared() {
  static auto cluster = start();
  if (!cluster) return cluster.error();
  return cluster->get();
}

Status PostgresCluster::init(const fs::path& bin) {
  EF_TRY(dir_, make_postgres_dir("ef-pg-"));
  const auto data = dir_ / "data";
  const auto pg_ctl = quoted(bin / "pg_ctl") + " -D " + quoted(data);
  // The watchdog first: from here on, whatever happens to this process, the folder goes.
  EF_CHECK(start_watchdog(as_postgres(pg_ctl + " -m immediate -w stop") +
                          " >/dev/null 2>&1; rm -rf " + quoted(dir_)));
  EF_TRY(auto from, template_data(bin));
  EF_CHECK(run("copying the cluster", "cp -a " + quoted(from) + " " + quoted(data)));
  std::ofstream(data / "postgresql.conf", std::ios::app)
      << "\nlisten_addresses = ''\nunix_socket_directories = '" << dir_.string() << "'\n";
  auto started =
      run("pg_ctl start", as_postgres(pg_ctl + " -l " + quoted(dir_ / "log") + " -w -t 60 start"));
  if (!started) return std::move(started).error().context(log_tail(dir_ / "log"));
  admin_ = PQconnectdb(("host=" + dir_.string() + " user=postgres dbname=postgres").c_str());
  if (PQstatus(admin_) != CONNECTION_OK) {
    return make_error(Errc::io,
                      std::string("connecting to the test cluster: ") + PQerrorMessage(admin_));
  }
  return {};
}

// A child that blocks on a pipe only this process writes to; the pipe reads end-of-file when the
// process ends, however it ends, and the child then runs cleanup.
Status PostgresCluster::start_watchdog(const std::string& cleanup) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(Errc::io, "pipe2 for the watchdog");
  const char* argv[] = {"/bin/sh", "-c", cleanup.c_str(), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(Errc::io, "fork for the watchdog");
  if (pid == 0) {  // only async-signal-safe calls from here
    ::close(fds[1]);
    ::setpgid(0, 0);  // out of the terminal's group: Ctrl-C stops the test, not the cleanup
    char byte;
    while (::read(fds[0], &byte, 1) != 0 && errno == EINTR) {
    }
    ::execv("/bin/sh", const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_ = pid;
  watchdog_pipe_ = fds[1];
  return {};
}

PostgresCluster::~PostgresCluster() {
  PQfinish(admin_);
  if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);
  if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);  // the cluster is gone when we return
}

std::string PostgresCluster::url(std::string_view database) const {
  return "postgresql:///" + std::string(database) + "?host=" + dir_.string() + "&user=postgres";
}

Result<std::string> PostgresCluster::create_database() {
  const std::string name = "ef_test_" + std::to_string(++databases_);
  EF_CHECK(execute("postgres", "CREATE DATABASE " + name));
  return name;
}

Result<std::string> PostgresCluster::execute(std::string_view database, const std::string& sql) {
  pg_conn* conn = admin_;
  if (database != "postgres") {
    conn = PQconnectdb((url(database)).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn);
      PQfinish(conn);
      return make_error(Errc::io, "connecting to " + std::string(database) + ": " + message);
    }
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(r);
  Result<std::string> out = std::string();
  if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    out = std::string(PQgetvalue(r, 0, 0));
  } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    out = make_error(Errc::io, sql + ": " + PQresultErrorMessage(r));
  }
  PQclear(r);
  if (conn != admin_) PQfinish(conn);
  return out;
}

Result<std::string> test_database_url() {
  const char* backend = std::getenv("EF_TEST_DATABASE");
  const std::string_view name = backend ? backend : "";
  if (name.empty() || name == "sqlite") return std::string();
  if (name != "postgresql") {
    return make_error(Errc::invalid_argument,
                      "EF_TEST_DATABASE=" + std::string(name) + ": expected sqlite or postgresql");
  }
  EF_TRY(auto* cluster, PostgresCluster::shared());
  EF_TRY(auto database, cluster->create_database());
  return cluster->url(database);
}

}  // namespace ef::testing
