// Frame -> model input. The training script's frames pass through this same code (see
// scripts/setup.d/50-model, which retrains when this file changes).
#include <opencv2/imgproc.hpp>

#include "runtime/model/model.hpp"

namespace ef::model {

void fit_to_input(const cv::Mat& bgr_frame, const InputSpec& input, cv::Mat& out) {
  cv::Mat colored;
  switch (input.color) {
    case Color::gray:
      cv::cvtColor(bgr_frame, colored, cv::COLOR_BGR2GRAY);
      break;
    case Color::rgb:
      cv::cvtColor(bgr_frame, colored, cv::COLOR_BGR2RGB);
      break;
    case Color::bgr:
      colored = bgr_frame;
      break;
  }
  const cv::Size size(input.width, input.height);
  if (colored.size() == size) {
    colored.copyTo(out);
  } else {
    cv::resize(colored, out, size, 0, 0, cv::INTER_AREA);
  }
}

void to_tensor(const cv::Mat& fitted, const InputSpec& input, cv::Mat& tensor) {
  const int channels = input.channels();
  const int dims[] = {1, channels, input.height, input.width};
  tensor.create(4, dims, CV_32F);
  cv::Mat planes[3];
  if (channels == 1) {
    planes[0] = fitted;
  } else {
    cv::split(fitted, planes);
  }
  for (int c = 0; c < channels; ++c) {
    cv::Mat plane(input.height, input.width, CV_32F, tensor.ptr<float>(0, c));
    const double alpha = input.scale / input.std[c];
    const double beta = -input.mean[c] / input.std[c];
    planes[c].convertTo(plane, CV_32F, alpha, beta);
  }
}

}  // namespace ef::model
