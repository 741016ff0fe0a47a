// minidl: the whole public API in one include. This list is the table of contents of the
// library, module by module, each after the modules it uses (scripts/check-layering): core, autograd
// (ops on tensors), optim (on autograd), data (on core), nn (layers, and the training step and
// evaluation, which use optim and data), distributed (on all of them), run (a training run, on all of
// them). Each header once.
#pragma once

// ---- core: tensors, their memory and their devices
#include <minidl/core/allocator.h>  // caching allocator, memory_stats()
#include <minidl/core/backend.h>    // set_num_threads(), cuda::is_available(), synchronize()
#include <minidl/core/device.h>     // Device::cpu(), Device::cuda(i)
#include <minidl/core/dtype.h>      // DType::float32, DType::int32
#include <minidl/core/error.h>      // minidl::Error
#include <minidl/core/generator.h>  // seeded, platform-independent random numbers
#include <minidl/core/grad_mode.h>  // NoGradGuard
#include <minidl/core/shape.h>      // Shape, broadcasting rules
#include <minidl/core/tensor.h>     // Tensor: factories, views, data access, backward()

// ---- autograd: differentiable ops and the tape
#include <minidl/autograd/compare.h>          // eq, ne, lt, le, gt, ge (float masks), where, masked_fill
#include <minidl/autograd/custom_op.h>        // record_op(): writing a new op from outside, with its backward
#include <minidl/autograd/elementwise.h>      // + − * /, relu, sigmoid, tanh, exp, log, sqrt, square, abs, pow,
                                              // clamp, maximum, minimum
#include <minidl/autograd/grad_ready_hook.h>  // GradReadyHook: a leaf's gradient is final (during backward)
#include <minidl/autograd/gradcheck.h>        // autograd::gradcheck
#include <minidl/autograd/index.h>            // gather, index_select (scatter-add backward)
#include <minidl/autograd/matmul.h>           // matmul (torch.matmul: batch dims broadcast)
#include <minidl/autograd/reduce.h>           // sum, mean, max, argmax
#include <minidl/autograd/shape_ops.h>        // cat, stack, split, chunk, tril, triu
#include <minidl/autograd/softmax.h>          // softmax, log_softmax
#include <minidl/autograd/to_dot.h>           // to_dot: the tape as a Graphviz graph

// ---- optim: optimizers and learning-rate schedules
#include <minidl/optim/adagrad.h>       // Adagrad: torch.optim.Adagrad
#include <minidl/optim/adam.h>          // Adam: torch.optim.Adam (amsgrad too)
#include <minidl/optim/adamw.h>         // AdamW: torch.optim.AdamW, decoupled weight decay
#include <minidl/optim/lr_scheduler.h>  // StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR,
                                        // ReduceLROnPlateau, LinearWarmup
#include <minidl/optim/momentum.h>      // Momentum: torch.optim.SGD(momentum, dampening)
#include <minidl/optim/nesterov.h>      // Nesterov: torch.optim.SGD(nesterov=True)
#include <minidl/optim/optimizer.h>     // Optimizer: step(), zero_grad(), lr(), named per-parameter state
#include <minidl/optim/options.h>       // Options as data: parse_options, option_infos (--opt key=value)
#include <minidl/optim/registry.h>      // make_optimizer("adam", …), register_optimizer<T>("name")
#include <minidl/optim/rmsprop.h>
#include <minidl/optim/schedule_registry.h>  // make_schedule("cosine", …), register_schedule("name", builder)       // RMSprop: torch.optim.RMSprop (momentum, centered)
#include <minidl/optim/sgd.h>                // SGD
#include <minidl/optim/step_explanation.h>   // StepExplanation: one coordinate's step as named terms (explain-step)

// ---- data: datasets, loading, files
#include <minidl/data/augment.h>              // random_shift
#include <minidl/data/data_loader.h>          // DataLoader: batches, per-epoch shuffle
#include <minidl/data/dataset.h>              // Dataset, TensorDataset, Batch
#include <minidl/data/decompression_cache.h>  // where decompressed .gz files are cached, and how they are checked
#include <minidl/data/idx_reader.h>           // read_idx: MNIST's IDX files, raw or .gz
#include <minidl/data/image.h>                // load_image, mnist_preprocess, save_png
#include <minidl/data/mnist.h>                // MNIST, FashionMNIST
#include <minidl/data/safetensors.h>          // save_safetensors, load_safetensors
#include <minidl/data/shard.h>                // Shard: a rank's part of every batch (data parallelism)
#include <minidl/data/text_dataset.h>         // TextDataset: a file's bytes as a language-modelling corpus

// ---- nn: layers and losses
#include <minidl/nn/activation.h>  // ReLU, Sigmoid, Tanh, GELU, SiLU, Flatten, Unflatten
#include <minidl/nn/batch_norm.h>  // BatchNorm1d, BatchNorm2d
#include <minidl/nn/clip_grad.h>   // clip_grad_norm, grad_squared_norms
#include <minidl/nn/conv2d.h>      // Conv2d
#include <minidl/nn/dropout.h>     // Dropout
#include <minidl/nn/embedding.h>   // Embedding
#include <minidl/nn/evaluate.h>    // evaluate(model, loader): loss, accuracy, confusion matrix
#include <minidl/nn/functional.h>  // nn::functional: linear, conv2d, pooling, dropout, batch_norm, losses,
                                   // embedding, layer_norm, gelu, silu, scaled_dot_product_attention
#include <minidl/nn/gpt.h>         // GPT, GPTConfig, generate (KV cache), GPT checkpoints
#include <minidl/nn/layer_norm.h>  // LayerNorm
#include <minidl/nn/linear.h>      // Linear
#include <minidl/nn/loss.h>        // MSELoss, CrossEntropyLoss
#include <minidl/nn/model_spec.h>  // build_model("conv(32,3,padding=1) relu …"), plan_model
#include <minidl/nn/module.h>      // Module: parameters(), buffers(), state_dict(), train()/eval()
#include <minidl/nn/module_list.h>  // ModuleList, ModuleDict
#include <minidl/nn/pooling.h>     // MaxPool2d, AvgPool2d
#include <minidl/nn/sequential.h>  // Sequential, mlp()
#include <minidl/nn/transformer.h>  // CausalSelfAttention, MLP, TransformerBlock, KVCache
#include <minidl/nn/train_step.h>  // train_step(model, optimizer, inputs, targets): the step minidl train takes

// ---- distributed: data-parallel training over MPI (a world of one process without it)
#include <minidl/distributed/buckets.h>        // plan_buckets: which gradients travel together
#include <minidl/distributed/collectives.h>    // all_reduce, broadcast, barrier, all_reduce_async
#include <minidl/distributed/data_parallel.h>  // DataParallel: gradients all-reduced in buckets during backward
#include <minidl/distributed/evaluate.h>       // evaluate over the ranks' shares
#include <minidl/distributed/world.h>          // init, rank, world_size, the watchdog's timeout

// ---- run: a training run as a library (on nn, optim, data and distributed)
#include <minidl/run/batch_source.h>  // BatchSource: batches by epoch or endless; LoaderSource over a DataLoader
#include <minidl/run/checkpoint.h>    // save_checkpoint, load_checkpoint: weights, optimizer, position, metadata
#include <minidl/run/hook.h>          // Hook: what a run tells its observers; Metrics, Outcome
#include <minidl/run/interrupt.h>     // StopOnSignals: SIGINT/SIGTERM stop a run between steps
#include <minidl/run/metrics_log.h>   // MetricsLog: the metrics CSV, a row per evaluation and per N steps
#include <minidl/run/progress.h>      // Progress, ProgressBar: the live bar on a terminal
#include <minidl/run/summary.h>       // Summary: steps, train seconds, every evaluation, as JSON
#include <minidl/run/telemetry.h>     // Telemetry: per-step optimizer figures, JSON lines
#include <minidl/run/trainer.h>       // Trainer: epochs or steps, evaluation, checkpoints, resume

// ---- report: HTML reports of runs, comparisons and sweeps, from run summaries
#include <minidl/report/chart.h>        // Chart, Series, Axis, smooth: a report's line charts as data
#include <minidl/report/model_view.h>   // ModelView, ModelViewCollector: what a trained classifier shows
#include <minidl/report/page.h>         // Page: one self-contained HTML page, escape_html
#include <minidl/report/run_summary.h>  // RunSummary, read_summary: a --summary JSON read back
#include <minidl/report/report.h>       // write(summary, path), write_comparison, write_sweep, Describer
