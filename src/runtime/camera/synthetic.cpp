#include "runtime/camera/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace ef::camera {

namespace {

constexpr int kSlatPeriod = 20;  // belt slat spacing in pixels
constexpr int kBeltSpeed = 7;    // pixels the belt moves per frame

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct PartGeometry {
  int width, height;
  std::vector<cv::Point2f> bolts;
  float bolt_radius;
  cv::Point2f ring_center;
  float ring_radius;
};

PartGeometry part_geometry(int frame_width, int frame_height) {
  PartGeometry g;
  g.width = static_cast<int>(std::lround(0.55 * frame_width));
  g.height = static_cast<int>(std::lround(0.6 * frame_height));
  const float w = static_cast<float>(g.width), h = static_cast<float>(g.height);
  g.bolts = {{0.15f * w, 0.18f * h},
             {0.85f * w, 0.18f * h},
             {0.15f * w, 0.82f * h},
             {0.85f * w, 0.82f * h}};
  g.bolt_radius = std::max(2.0f, 0.07f * h);
  g.ring_center = {0.5f * w, 0.5f * h};
  g.ring_radius = 0.22f * h;
  return g;
}

int stroke(int frame_width) {
  return std::max(1, static_cast<int>(std::lround(frame_width / 80.0)));
}

// Four bolts; the missing one (index, or -1) leaves an empty threaded hole.
void draw_bolts(cv::Mat& part, const PartGeometry& g, int missing_bolt) {
  for (int i = 0; i < static_cast<int>(g.bolts.size()); ++i) {
    const cv::Point c(static_cast<int>(g.bolts[i].x), static_cast<int>(g.bolts[i].y));
    const int radius = static_cast<int>(std::lround(g.bolt_radius));
    if (i == missing_bolt) {
      cv::circle(part, c, std::max(1, radius - 1), cv::Scalar(40), cv::FILLED, cv::LINE_AA);
      continue;
    }
    cv::circle(part, c, radius, cv::Scalar(222), cv::FILLED, cv::LINE_AA);
    cv::circle(part, c, radius, cv::Scalar(140), 1, cv::LINE_AA);
    cv::line(part, c - cv::Point(radius / 2, 0), c + cv::Point(radius / 2, 0), cv::Scalar(120), 1,
             cv::LINE_AA);
  }
}

// A scratch or a spot; draws from rng only for those two.
void draw_surface_defect(cv::Mat& part, const PartGeometry& g, Defect defect, int frame_width,
                         cv::RNG& rng) {
  if (defect == Defect::scratch) {
    const float length = static_cast<float>(rng.uniform(0.3, 0.6) * g.width);
    const float angle = static_cast<float>(rng.uniform(0.0, std::numbers::pi));
    const cv::Point2f mid(static_cast<float>(rng.uniform(0.3, 0.7) * g.width),
                          static_cast<float>(rng.uniform(0.3, 0.7) * g.height));
    const cv::Point2f half(0.5f * length * std::cos(angle), 0.5f * length * std::sin(angle));
    const double shade = rng.uniform(0, 2) == 0 ? 245 : 70;
    cv::line(part, mid - half, mid + half, cv::Scalar(shade), stroke(frame_width), cv::LINE_AA);
  } else if (defect == Defect::spot) {
    const int radius = static_cast<int>(std::lround(rng.uniform(0.05, 0.09) * g.height));
    const cv::Point c(static_cast<int>(rng.uniform(0.25, 0.75) * g.width),
                      static_cast<int>(rng.uniform(0.25, 0.75) * g.height));
    cv::circle(part, c, std::max(2, radius), cv::Scalar(rng.uniform(55.0, 85.0)), cv::FILLED,
               cv::LINE_AA);
  }
}

// Exposure gain and sensor noise on the float scene, then a faint cool tint so the three
// channels differ as a real sensor's do.
cv::Mat expose(const cv::Mat& scene, double exposure, double noise_sigma, cv::RNG& rng) {
  cv::Mat noise(scene.rows, scene.cols, CV_32F);
  rng.fill(noise, cv::RNG::NORMAL, 0, noise_sigma);
  const cv::Mat image = scene * exposure + noise;
  cv::Mat channels[3], bgr;
  image.convertTo(channels[0], CV_8U, 1.03);
  image.convertTo(channels[1], CV_8U, 1.0);
  image.convertTo(channels[2], CV_8U, 0.96);
  cv::merge(channels, 3, bgr);
  return bgr;
}

}  // namespace

const char* defect_name(Defect d) {
  switch (d) {
    case Defect::scratch:
      return "scratch";
    case Defect::spot:
      return "spot";
    case Defect::missing_part:
      return "missing_part";
    default:
      return "good";
  }
}

SyntheticRenderer::SyntheticRenderer(const SyntheticOptions& options) : options_(options) {
  const int w = options_.width, h = options_.height;
  cv::RNG rng(splitmix64(options_.seed));

  // Belt: brightness varies along y, and along x with the slat period so that shifting it by
  // any offset is a crop of one wider image.
  cv::Mat rows(h, 1, CV_32F), tile(h, kSlatPeriod, CV_32F);
  rng.fill(rows, cv::RNG::NORMAL, 0, 4);
  cv::GaussianBlur(rows, rows, cv::Size(1, 5), 0);
  rng.fill(tile, cv::RNG::NORMAL, 0, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < kSlatPeriod; ++x) {
      const float slat = (x < 2) ? -22.0f : 0.0f;
      tile.at<float>(y, x) += 62.0f + rows.at<float>(y) + slat;
    }
  }
  cv::repeat(tile, 1, (w + kSlatPeriod - 1) / kSlatPeriod + 1, belt_);

  // Part: brushed metal (horizontal streaks), lit slightly from the top left.
  const auto g = part_geometry(w, h);
  part_texture_.create(g.height, g.width, CV_32F);
  rng.fill(part_texture_, cv::RNG::NORMAL, 0, 7);
  cv::GaussianBlur(part_texture_, part_texture_, cv::Size(31, 1), 0);
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      part_texture_.at<float>(y, x) +=
          160.0f + 18.0f * (1.0f - float(x + y) / float(g.width + g.height));
    }
  }
  // Fixed features: a ring stamped in the middle and a label strip.
  cv::circle(part_texture_, g.ring_center, static_cast<int>(g.ring_radius), cv::Scalar(115),
             stroke(w), cv::LINE_AA);
  cv::rectangle(part_texture_,
                cv::Rect(static_cast<int>(0.35 * g.width), static_cast<int>(0.05 * g.height),
                         static_cast<int>(0.3 * g.width), std::max(2, g.height / 14)),
                cv::Scalar(205), cv::FILLED);

  part_mask_ = cv::Mat::zeros(g.height, g.width, CV_8U);
  const int r = std::max(2, g.height / 8);
  cv::rectangle(part_mask_, cv::Rect(r, 0, g.width - 2 * r, g.height), cv::Scalar(255), cv::FILLED);
  cv::rectangle(part_mask_, cv::Rect(0, r, g.width, g.height - 2 * r), cv::Scalar(255), cv::FILLED);
  for (cv::Point c :
       {cv::Point(r, r), cv::Point(g.width - 1 - r, r), cv::Point(r, g.height - 1 - r),
        cv::Point(g.width - 1 - r, g.height - 1 - r)}) {
    cv::circle(part_mask_, c, r, cv::Scalar(255), cv::FILLED);
  }
}

RenderedFrame SyntheticRenderer::render(std::uint64_t index, double frame_time_s) const {
  const int w = options_.width, h = options_.height;
  cv::RNG rng(splitmix64(options_.seed * 0x100000001B3ull ^ splitmix64(index)));
  RenderedFrame out;

  // Decide everything random up front, in a fixed order, so frames stay reproducible.
  const double defect_draw = rng.uniform(0.0, 1.0);
  const int kind = rng.uniform(0, 3);
  const auto g = part_geometry(w, h);
  const int x0 = w / 2 - g.width / 2 + static_cast<int>(std::lround(rng.uniform(-0.05, 0.05) * w));
  const int y0 = h / 2 - g.height / 2 + static_cast<int>(std::lround(rng.uniform(-0.04, 0.04) * h));
  const double jitter = rng.uniform(-1.0, 1.0);

  cv::Mat scene;
  const int offset = static_cast<int>((index * kBeltSpeed) % kSlatPeriod);
  belt_(cv::Rect(offset, 0, w, h)).copyTo(scene);

  cv::Mat part = part_texture_.clone();
  int missing_bolt = -1;
  if (defect_draw < options_.defect_rate) {
    out.defect = static_cast<Defect>(1 + kind);
    if (out.defect == Defect::missing_part) missing_bolt = rng.uniform(0, 4);
  }
  draw_bolts(part, g, missing_bolt);
  draw_surface_defect(part, g, out.defect, w, rng);
  part.copyTo(scene(cv::Rect(x0, y0, g.width, g.height)), part_mask_);

  const double drift =
      options_.drift_period_s > 0
          ? options_.drift_amplitude *
                std::sin(2 * std::numbers::pi * frame_time_s / options_.drift_period_s)
          : 0.0;
  out.exposure = std::max(0.05, 1.0 + drift + options_.exposure_jitter * jitter);
  out.image = expose(scene, out.exposure, options_.noise_sigma, rng);
  return out;
}

}  // namespace ef::camera
