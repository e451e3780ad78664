// Camera sources behind one interface, and the configuration that picks one.
//
// A FrameSource is used from one thread: open(), then read() until it fails, then close() and
// open() again (Camera in camera.hpp does that with back-off). read() blocks until the next frame
// is due (sources pace themselves at their frame rate). After a failed read, finished() tells an
// exhausted source (end of a file or folder, no loop) from a broken one (worth reopening).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/json/json.hpp"
#include "runtime/camera/frame.hpp"
#include "runtime/camera/synthetic.hpp"

namespace ef::camera {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual Status open() = 0;
  virtual Result<Frame> read() = 0;
  virtual void close() = 0;
  virtual bool finished() const { return false; }
  // A live source (a camera, a stream, the paced synthetic camera) produces frames whether or not
  // they are read, so a slow reader loses some; a recorded one (file, folder, the unpaced
  // synthetic camera) waits for its reader.
  virtual bool live() const = 0;
  // "synthetic seed=7 160x120@30fps", "v4l2 /dev/video0", ... for logs and the health report.
  virtual std::string describe() const = 0;
};

struct SourceConfig {
  enum class Type { synthetic, v4l2, stream, file, folder };
  Type type = Type::synthetic;
  std::string location;  // v4l2: device path or index; stream: URL; file: path; folder: path
  double fps = 30;       // pacing for synthetic, file and folder (0: as fast as read); requested
                         // rate for v4l2
  int width = 0;         // requested size for v4l2; 0: the device's default
  int height = 0;
  bool loop = false;  // file and folder: start again at the end instead of finishing
  std::chrono::milliseconds io_timeout{5000};  // stream: open and read timeouts
  SyntheticOptions synthetic;
};

// Parses the "camera" object of the runtime configuration, strictly: unknown keys, wrong types
// and out-of-range values are errors that name the key.
Result<SourceConfig> parse_source_config(const json::Json& camera);

Result<std::unique_ptr<FrameSource>> make_source(const SourceConfig& config);

}  // namespace ef::camera
