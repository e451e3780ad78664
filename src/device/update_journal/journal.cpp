#include "device/update_journal/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/json/json.hpp"

namespace ef::update_journal {

namespace fs = std::filesystem;
using json::Json;

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::verifying:
      return "verifying";
    case Phase::downloading:
      return "downloading";
    case Phase::staging:
      return "staging";
    case Phase::switching:
      return "switching";
    case Phase::trial:
      return "trial";
    case Phase::committing:
      return "committing";
    case Phase::rolling_back:
      return "rolling_back";
  }
  return "?";
}

Result<Phase> phase_from_name(std::string_view name) {
  for (Phase p : {Phase::verifying, Phase::downloading, Phase::staging, Phase::switching,
                  Phase::trial, Phase::committing, Phase::rolling_back}) {
    if (phase_name(p) == name) return p;
  }
  return make_error(Errc::malformed, "unknown update phase \"" + printable(name) + "\"");
}

namespace {
Json optional_string(const std::optional<std::string>& s) {
  return s ? Json(*s) : Json(nullptr);
}

Result<std::optional<std::string>> read_optional(const Json& o, const char* key) {
  if (!o.contains(key) || o[key].is_null()) return std::optional<std::string>{};
  EF_TRY(std::string v, json::get_string(o, key));
  return std::optional<std::string>{std::move(v)};
}
}  // namespace

std::string to_json(const State& s) {
  Json j{{"format", 1},
         {"committed", optional_string(s.committed)},
         {"previous", optional_string(s.previous)},
         {"failed", s.failed},
         {"last_failure", optional_string(s.last_failure)},
         {"desired", optional_string(s.desired)},
         {"update", nullptr}};
  if (s.update) {
    j["update"] = Json{{"target", s.update->target},
                       {"from", optional_string(s.update->from)},
                       {"phase", phase_name(s.update->phase)},
                       {"kind", s.update->kind == Kind::full ? "full" : "model_swap"},
                       {"trial_starts", s.update->trial_starts},
                       {"failure_reason", s.update->failure_reason}};
  }
  return j.dump(1) + "\n";
}

Result<State> from_json(std::string_view text) {
  EF_TRY(Json j, json::parse_strict(text, {.max_bytes = 1024 * 1024}));
  EF_TRY(std::int64_t format, json::get_int(j, "format"));
  if (format != 1)
    return make_error(Errc::unsupported,
                      "state format " + std::to_string(format) + " is not known");
  State s;
  EF_TRY(s.committed, read_optional(j, "committed"));
  EF_TRY(s.previous, read_optional(j, "previous"));
  EF_TRY(s.last_failure, read_optional(j, "last_failure"));
  EF_TRY(s.desired, read_optional(j, "desired"));
  EF_TRY(const Json* failed, json::get_object(j, "failed"));
  for (const auto& [release, why] : failed->items()) {
    if (!why.is_string()) return make_error(Errc::malformed, "failed reasons must be strings");
    s.failed[release] = why.get<std::string>();
  }
  if (j.contains("update") && !j["update"].is_null()) {
    const Json& u = j["update"];
    Update update;
    EF_TRY(update.target, json::get_string(u, "target"));
    EF_TRY(update.from, read_optional(u, "from"));
    EF_TRY(std::string phase, json::get_string(u, "phase"));
    EF_TRY(update.phase, phase_from_name(phase));
    EF_TRY(std::string kind, json::get_string(u, "kind"));
    if (kind != "full" && kind != "model_swap")
      return make_error(Errc::malformed, "unknown update kind \"" + printable(kind) + "\"");
    update.kind = kind == "model_swap" ? Kind::model_swap : Kind::full;
    EF_TRY(std::int64_t starts, json::get_int(u, "trial_starts"));
    // Recovery counts trial starts to break crash loops: a wrapped count would defeat it.
    if (starts < 0 || starts > 1000000)
      return make_error(Errc::malformed,
                        "trial_starts " + std::to_string(starts) + " is out of range");
    update.trial_starts = static_cast<int>(starts);
    EF_TRY(update.failure_reason, json::get_string(u, "failure_reason"));
    s.update = std::move(update);
  }
  return s;
}

Result<Journal> Journal::open(const fs::path& dir) {
  EF_CHECK(make_dirs(dir, 0700));
  Journal j;
  j.dir_ = dir;
  auto text = read_file(dir / "state.json", 1024 * 1024);
  if (!text) {
    if (text.error().code != Errc::not_found) return std::move(text).error();
    return j;  // a new device
  }
  auto state = from_json(*text);
  if (!state)
    return std::move(state).error().context((dir / "state.json").string() + " is corrupt");
  j.state_ = std::move(*state);
  return j;
}

Status Journal::commit(State next, std::string_view event) {
  EF_CHECK(write_file_atomic(dir_ / "state.json", to_json(next), 0600));
  state_ = std::move(next);
  // The history line is best effort for people; state.json above is what recovery relies on.
  UniqueFd log(
      ::open((dir_ / "journal.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (log.valid()) {
    std::string line = format_utc(utc_now()) + " " + std::string(event);
    if (state_.update) {
      line += " phase=" + std::string(phase_name(state_.update->phase)) +
              " target=" + state_.update->target;
    }
    line += " committed=" + state_.committed.value_or("-") + "\n";
    (void)write_all(log.get(), line);
    ::fsync(log.get());
  }
  return {};
}

}  // namespace ef::update_journal
