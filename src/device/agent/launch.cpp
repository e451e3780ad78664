#include "device/agent/launch.hpp"

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/json/json.hpp"

namespace ef::agent {

Result<Launch> parse_launch(std::string_view text) {
  EF_TRY(json::Json j, json::parse_strict(text, {.max_bytes = 64 * 1024}));
  Launch l;
  EF_TRY(const json::Json* command, json::get_array(j, "command"));
  if (command->empty() || command->size() > 64)
    return make_error(Errc::malformed, "launch command must have 1 to 64 words");
  for (const auto& word : *command) {
    if (!word.is_string() || word.get_ref<const std::string&>().size() > 4096) {
      return make_error(Errc::malformed, "launch command words must be strings");
    }
    l.command.push_back(word.get<std::string>());
  }
  if (auto st = check_relative_path(l.command[0]); !st) {
    return std::move(st).error().context(
        "launch command must start with a program inside the release");
  }
  if (j.contains("health_deadline_seconds")) {
    EF_TRY(std::int64_t s, json::get_int(j, "health_deadline_seconds"));
    if (s < 1 || s > 3600)
      return make_error(Errc::malformed, "health_deadline_seconds must be 1 to 3600");
    l.health_deadline = std::chrono::seconds(s);
  }
  if (j.contains("model_hot_swap")) {
    EF_TRY(l.model_hot_swap, json::get_bool(j, "model_hot_swap"));
  }
  return l;
}

Result<Launch> load_launch(const std::filesystem::path& release_dir) {
  auto text = read_file(release_dir / "config" / "launch.json", 64 * 1024);
  if (!text) return std::move(text).error().context("release launch file");
  auto launch = parse_launch(*text);
  if (!launch) return std::move(launch).error().context("config/launch.json");
  return launch;
}

supervisor::LaunchSpec launch_spec(const Launch& launch, const std::filesystem::path& release_dir,
                                   const std::map<std::string, std::string>& values,
                                   const std::filesystem::path& log_file) {
  supervisor::LaunchSpec spec;
  spec.cwd = release_dir;
  spec.log_file = log_file;
  for (std::string word : launch.command) {
    for (const auto& [key, value] : values) {
      const std::string token = "{" + key + "}";
      for (auto pos = word.find(token); pos != std::string::npos;
           pos = word.find(token, pos + value.size())) {
        word.replace(pos, token.size(), value);
      }
    }
    spec.argv.push_back(std::move(word));
  }
  spec.argv[0] = (release_dir / spec.argv[0]).string();
  for (const auto& [key, value] : values) {
    std::string name = "EDGEFLEET_";
    for (char c : key)
      name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    spec.env[name] = value;
  }
  return spec;
}

}  // namespace ef::agent
