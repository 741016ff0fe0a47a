// The metrics CSV of a run (`minidl train --metrics FILE`), as a Hook: a row per evaluation and one
// per `log_every` steps (the mean loss since the last row or the epoch's start, whichever is later):
//
//   kind,epoch,step,lr,train_loss,<metric>…,seconds
//   step,1,50,0.01,0.412,,,3.2
//   epoch,1,938,0.01,0.301,0.152,0.9551,58.1
//
// The metric columns are the evaluation's (Metrics' names), fixed when the file is opened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <minidl/run/hook.h>

namespace minidl::data {
class OutputFile;
}

namespace minidl::run {

class MetricsLog : public Hook {
 public:
  struct Options {
    int64_t log_every = 0;  // > 0: a step row every N optimizer steps
    bool append = false;    // continue an existing file (a resumed run), without a new header
    std::string flag = "--metrics";  // how errors name the file
  };
  /// Opens `path` under the output policy (data/atomic_file.h); a file that cannot be written is an Error.
  MetricsLog(const std::string& path, std::vector<std::string> metrics, Options options);
  ~MetricsLog() override;
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void on_epoch_begin(const Trainer&, int64_t epoch) override;
  void on_step(const Trainer&, const StepReport& step) override;
  void on_evaluation(const Trainer&, const EvalReport& eval) override;

 private:
  std::unique_ptr<data::OutputFile> file_;
  std::vector<std::string> metrics_;
  Options options_;
  double window_loss_ = 0;
  int64_t window_ = 0;
};

}  // namespace minidl::run
