// minidl: the whole public API in one include. This list is the table of contents of the
// library, module by module, in dependency order (kernels ← core ← autograd ← nn, optim; core ← data;
// dist above them all).
#pragma once

// ---- core: tensors, their memory and their devices
#include "core/allocator.h"  // caching allocator, memory_stats()
#include "core/backend.h"    // set_num_threads(), cuda::is_available(), synchronize()
#include "core/device.h"     // Device::cpu(), Device::cuda(i)
#include "core/dispatch.h"   // tensor-level kernels without autograd, for writing new ops
#include "core/dtype.h"      // DType::float32, DType::int32
#include "core/error.h"      // minidl::Error
#include "core/generator.h"  // seeded, platform-independent random numbers
#include "core/grad_mode.h"  // NoGradGuard
#include "core/shape.h"      // Shape, broadcasting rules
#include "core/tensor.h"     // Tensor: factories, views, data access, backward()

// ---- autograd: differentiable ops and the tape
#include "autograd/elementwise.h"  // + − * /, relu, sigmoid, tanh, exp, log, sqrt, square
#include "autograd/grad_ready_hook.h"  // GradReadyHook: a leaf's gradient is final (during backward)
#include "autograd/gradcheck.h"    // autograd::gradcheck
#include "autograd/matmul.h"       // matmul (2-D and batched)
#include "autograd/node.h"         // record(): the tape, for writing new ops
#include "autograd/reduce.h"       // sum, mean, max, argmax
#include "autograd/softmax.h"      // softmax, log_softmax

// ---- nn: layers and losses
#include "nn/activation.h"  // ReLU, Sigmoid, Tanh, Flatten, Unflatten
#include "nn/batch_norm.h"  // BatchNorm1d, BatchNorm2d
#include "nn/clip_grad.h"   // clip_grad_norm, grad_squared_norms
#include "nn/conv2d.h"      // Conv2d
#include "nn/dropout.h"     // Dropout
#include "nn/evaluate.h"    // evaluate(model, loader): loss, accuracy, confusion matrix
#include "nn/functional.h"  // nn::functional: linear, conv2d, max/avg_pool2d, dropout, batch_norm, losses
#include "nn/linear.h"      // Linear
#include "nn/loss.h"        // MSELoss, CrossEntropyLoss
#include "nn/model_spec.h"  // build_model("conv(32,3,padding=1) relu …"), plan_model
#include "nn/module.h"      // Module: parameters(), buffers(), state_dict(), train()/eval()
#include "nn/pooling.h"     // MaxPool2d, AvgPool2d
#include "nn/sequential.h"  // Sequential, mlp()
#include "nn/train_step.h"  // train_step(model, optimizer, inputs, targets): the step minidl train takes

// ---- optim: optimizers and learning-rate schedules
#include "optim/adagrad.h"       // Adagrad: torch.optim.Adagrad
#include "optim/adam.h"          // Adam: torch.optim.Adam (amsgrad too)
#include "optim/adamw.h"         // AdamW: torch.optim.AdamW, decoupled weight decay
#include "optim/lr_scheduler.h"  // StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR,
                                 // ReduceLROnPlateau, LinearWarmup
#include "optim/momentum.h"      // Momentum: torch.optim.SGD(momentum, dampening)
#include "optim/nesterov.h"      // Nesterov: torch.optim.SGD(nesterov=True)
#include "optim/optimizer.h"     // Optimizer: step(), zero_grad(), lr(), named per-parameter state
#include "optim/options.h"       // Options as data: parse_options, option_infos (--opt key=value)
#include "optim/registry.h"      // make_optimizer("adam", …), register_optimizer<T>("name")
#include "optim/rmsprop.h"       // RMSprop: torch.optim.RMSprop (momentum, centered)
#include "optim/sgd.h"           // SGD

// ---- data: datasets, loading, files
#include "data/augment.h"      // random_shift
#include "data/data_loader.h"  // DataLoader: batches, per-epoch shuffle
#include "data/dataset.h"      // Dataset, TensorDataset, Batch
#include "data/decompression_cache.h"  // where decompressed .gz files are cached, and how they are checked
#include "data/idx_reader.h"   // read_idx: MNIST's IDX files, raw or .gz
#include "data/image.h"        // load_image, save_png
#include "data/mnist.h"        // MNIST, FashionMNIST
#include "data/safetensors.h"  // save_safetensors, load_safetensors
#include "data/shard.h"        // Shard: a rank's part of every batch (data parallelism)

// ---- dist: data-parallel training over MPI (a world of one process without it)
#include "dist/buckets.h"        // plan_buckets: which gradients travel together
#include "dist/collectives.h"    // all_reduce, broadcast, barrier, all_reduce_async
#include "dist/data_parallel.h"  // DataParallel: gradients all-reduced in buckets during backward
#include "dist/evaluate.h"       // evaluate over the ranks' shares
#include "dist/world.h"          // init, rank, world_size, the watchdog's timeout
