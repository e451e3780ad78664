#include "runtime/model/opencv_dnn/opencv_dnn.hpp"

#include <opencv2/dnn.hpp>

namespace ef::model {

namespace {

class OpenCvDnnBackend final : public Backend {
 public:
  OpenCvDnnBackend(cv::dnn::Net net, const Metadata& m)
      : net_(std::move(net)), input_name_(m.input.name) {
    names_.push_back(m.score_output);
    if (!m.map_output.empty()) names_.push_back(m.map_output);
  }

  Result<BackendOutputs> run(const cv::Mat& nchw_input, bool with_map) override {
    try {
      net_.setInput(nchw_input, input_name_);
      if (with_map && names_.size() > 1) {
        net_.forward(outputs_, names_);
      } else {
        outputs_.resize(1);
        outputs_[0] = net_.forward(names_[0]);
      }
    } catch (const cv::Exception& e) {
      // The graph passed the ONNX checks and imported: this is the backend unable to run it on
      // this input (an operator or shape it does not support), not a bug of ours.
      return make_error(Errc::unsupported, std::string("OpenCV dnn inference failed: ") + e.what());
    }
    BackendOutputs out;
    out.score = outputs_[0];
    if (with_map && outputs_.size() > 1) out.anomaly_map = outputs_[1];
    return out;
  }

  std::string name() const override { return "opencv_dnn"; }

 private:
  cv::dnn::Net net_;
  std::string input_name_;
  std::vector<cv::String> names_;
  std::vector<cv::Mat> outputs_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_opencv_dnn(const std::filesystem::path& onnx_file,
                                                 const Metadata& metadata) {
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx_file.string());
    if (net.empty()) {
      return make_error(Errc::malformed,
                        "OpenCV dnn could not import " + onnx_file.filename().string());
    }
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<Backend>(std::make_unique<OpenCvDnnBackend>(std::move(net), metadata));
  } catch (const cv::Exception& e) {
    std::string why = e.what();
    if (why.size() > 400) why = why.substr(0, 400) + "...";
    return make_error(Errc::malformed,
                      "OpenCV dnn could not import " + onnx_file.filename().string() + ": " + why);
  }
}

}  // namespace ef::model
