// Release sources for agent tests: the stand-in runtime (fixtures/fake_runtime.py) as code, a
// model.json + weights as model, launch.json + runtime.json as config.
#pragma once

#include <filesystem>
#include <string>

namespace ef::testing {

struct Variant {
  std::string behaviour = "healthy";  // see fixtures/fake_runtime.py
  std::string model_version = "m1";
  int code = 1;       // a different number changes the code part
  int deadline = 15;  // health_deadline_seconds; generous for a loaded CI machine
};

// Writes code/, model/ and config/ for `variant` into src (replacing what was there).
void write_fake_release(const std::filesystem::path& src, const Variant& variant);

// The SHA-256 of the model weights that write_fake_release writes for a model version.
std::string fake_weights_sha256(const std::string& model_version);

}  // namespace ef::testing
