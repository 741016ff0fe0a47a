// Where a run's batches come from: an iterator of {inputs, targets} batches, in epochs or endless.
// A run::Trainer asks a source for each step's batch and saves the source's generator in its
// checkpoints, so that a resumed run draws exactly the batches the uninterrupted one would have:
//
//   run::LoaderSource source(loader);        // a data::DataLoader: epochs, reshuffled each time
//   class Windows : public run::BatchSource  // or anything else: random windows of a text, …
//
// A source with epochs hands out batch 0 … batches_per_epoch() - 1 of the epoch begun last; one
// without (batches_per_epoch() == 0) hands out a fresh batch each time, drawn from its generator.
#pragma once

#include <cstdint>

#include <minidl/core/generator.h>
#include <minidl/data/data_loader.h>

namespace minidl::run {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Batches in an epoch; 0 for a source without epochs (a run over it counts steps).
  virtual int64_t batches_per_epoch() const = 0;
  /// Starts an epoch: draws its order from generator() (a source without epochs does nothing).
  virtual void begin_epoch() {}
  /// Batch `index` of the epoch in progress; a source without epochs ignores `index` and draws the next.
  virtual data::Batch batch(int64_t index) = 0;
  /// The generator that decides what comes next (the epoch's order, or the next batch's draw): its
  /// state() goes into checkpoints, set_state() on resume.
  virtual Generator& generator() = 0;
};

/// A data::DataLoader as a source: its epochs, its shuffling generator.
class LoaderSource : public BatchSource {
 public:
  /// `loader` must outlive the source.
  explicit LoaderSource(data::DataLoader& loader) : loader_(loader) {}
  int64_t batches_per_epoch() const override { return loader_.num_batches(); }
  void begin_epoch() override { loader_.begin(); }
  data::Batch batch(int64_t index) override { return loader_.batch(index); }
  Generator& generator() override { return loader_.generator(); }

 private:
  data::DataLoader& loader_;
};

}  // namespace minidl::run
