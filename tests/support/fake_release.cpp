#include "fake_release.hpp"

#include <fstream>
#include <random>

#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "core/json/json.hpp"

namespace ef::testing {

namespace fs = std::filesystem;
using json::Json;

namespace {
void put(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}
std::string weights(const std::string& model_version) {
  return std::string(200000, static_cast<char>('a' + model_version.size())) + model_version;
}
}  // namespace

void write_fake_release(const fs::path& src, const Variant& v) {
  fs::remove_all(src);
  put(src / "code/fake-runtime",
      *read_file(EF_FAKE_RUNTIME, 1 << 20) + "# code " + std::to_string(v.code) + "\n");
  fs::permissions(src / "code/fake-runtime", fs::perms::owner_all);
  std::mt19937 rng(static_cast<unsigned>(v.code));
  std::string lib(300000, '\0');
  for (auto& c : lib)
    c = static_cast<char>(rng());
  put(src / "code/lib.bin", lib);
  put(src / "config/launch.json", Json{{"command",
                                        {"code/fake-runtime", "--control-socket",
                                         "{control_socket}", "--release", "{release}"}},
                                       {"health_deadline_seconds", v.deadline}}
                                      .dump());
  put(src / "config/runtime.json", Json{{"behaviour", v.behaviour}}.dump());
  put(src / "model/model.json", Json{{"version", v.model_version}}.dump());
  put(src / "model/weights.bin", weights(v.model_version));
}

std::string fake_weights_sha256(const std::string& model_version) {
  return crypto::sha256_hex(weights(model_version));
}

}  // namespace ef::testing
