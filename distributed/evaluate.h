// Evaluation shared among the ranks: each evaluates its share of the data, and the counts are
// added up, so every rank gets the evaluation of the whole dataset in 1/N of the time.
#pragma once

#include <minidl/core/shape.h>
#include <minidl/data/data_loader.h>
#include <minidl/nn/evaluate.h>
#include <minidl/nn/module.h>

namespace minidl::distributed {

/// nn::evaluate on this rank's share, then combined over the ranks: loss (the mean over all
/// examples), accuracy, counts and the confusion matrix, the same on every rank. Give each rank a
/// loader sharded over the ranks (data::DataLoaderOptions::shard), and the same model: an
/// evaluation that mixes replicas with different batch norm statistics describes none of them
/// (DataParallel::sync_buffers first).
/// `observe`, when given, sees this rank's batches only.
nn::Evaluation evaluate(nn::Module& model, data::DataLoader& loader, const Shape& example_shape = {},
                        const nn::EvaluationObserver& observe = {});

}  // namespace minidl::distributed
