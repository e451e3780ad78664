// edgefleet keys init|rotate: the offline signing keys of a release repository.
#include <iostream>

#include "commands.hpp"
#include "core/release_signing/keyring.hpp"

namespace ef::cli {
namespace {

void add_keys(CLI::App& app) {
  CLI::App& keys = subcommand(app, "keys", "create and rotate release signing keys (offline)");

  auto* init = keys.add_subcommand("init", "create keys for every role and a signed root.json");
  static std::string init_dir;
  static release::KeysInitOptions init_options;
  static int init_expiry_days = 365;
  init->add_option("--dir", init_dir, "folder for the keys (created, mode 0700)")->required();
  init->add_option("--threshold", init_options.threshold,
                   "signatures required for root and targets")
      ->capture_default_str();
  init->add_option("--keys", init_options.keys_per_role,
                   "root and targets keys to create (default: threshold)");
  init->add_option("--root-expiry-days", init_expiry_days, "days until root.json expires")
      ->capture_default_str();
  init->callback([] {
    init_options.root_expiry = std::chrono::days(init_expiry_days);
    if (auto st = release::init_keys(init_dir, init_options, utc_now()); !st)
      fail("keys init: " + st.error().message);
    std::cout << "keys created in " << init_dir << "; trust root: " << init_dir << "/root.json\n"
              << "Keep root-* and targets-* keys offline. snapshot-1.key and timestamp-1.key may "
                 "go to the "
                 "server, which signs those roles online.\n";
  });

  auto* rotate = keys.add_subcommand("rotate", "replace a role's keys with a new root version");
  static std::string rotate_dir;
  static release::RotateOptions rotate_options;
  static int rotate_expiry_days = 365;
  rotate->add_option("--dir", rotate_dir, "the keys folder")->required();
  rotate->add_option("--role", rotate_options.role, "root, targets, snapshot or timestamp")
      ->required();
  rotate->add_option("--new-keys", rotate_options.new_keys, "how many new keys")
      ->capture_default_str();
  rotate->add_option("--threshold", rotate_options.threshold, "new threshold (default: unchanged)");
  rotate->add_option("--root-expiry-days", rotate_expiry_days, "days until the new root expires")
      ->capture_default_str();
  rotate->callback([] {
    rotate_options.root_expiry = std::chrono::days(rotate_expiry_days);
    auto version = release::rotate_keys(rotate_dir, rotate_options, utc_now());
    if (!version) fail("keys rotate: " + version.error().message);
    std::cout << "root version " << *version << " written to " << rotate_dir << "/" << *version
              << ".root.json; old " << rotate_options.role << " keys moved to " << rotate_dir
              << "/retired/\n"
              << "The next `edgefleet release build` copies the new root into the repository.\n";
  });
}

const CommandGroup group("keys", add_keys);

}  // namespace
}  // namespace ef::cli
